package plan

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
)

// KubeOptions are the container and resources of every Kubernetes or Argo
// task.
type KubeOptions struct {
	Image       string // holds the takedown program the plan names
	Namespace   string // "" leaves it to kubectl / argo
	Parallelism int    // pods of a stage at once; 0 = all its tasks
	CPU         string // requests.cpu, e.g. "1"
	Mem         string // requests.memory and limits.memory, e.g. 4Gi
	Claim       string // a PersistentVolumeClaim mounted at the workspace path; "" mounts nothing
	Workspace   string // the workspace path (where Claim is mounted)
	Retries     int    // runs again of a task that exits 75 (busy)
}

// IndexVar is the environment variable that picks a task: Kubernetes sets
// it in the pods of an Indexed Job; the Argo templates set it from the
// fanned-out item.
const IndexVar = "JOB_COMPLETION_INDEX"

// AfterAnnotation lists, on a Kubernetes Job, the Jobs that must complete
// before it is applied.
const AfterAnnotation = "takedown-research.org/after"

// KubeJob is a batch/v1 Job, the fields a plan uses.
type KubeJob struct {
	APIVersion string      `yaml:"apiVersion"`
	Kind       string      `yaml:"kind"`
	Metadata   KubeMeta    `yaml:"metadata"`
	Spec       KubeJobSpec `yaml:"spec"`
}

// KubeMeta is an object's metadata.
type KubeMeta struct {
	Name        string            `yaml:"name,omitempty"`
	Namespace   string            `yaml:"namespace,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

// KubeJobSpec is a Job's spec.
type KubeJobSpec struct {
	CompletionMode   string            `yaml:"completionMode"`
	Completions      int               `yaml:"completions"`
	Parallelism      int               `yaml:"parallelism"`
	BackoffLimit     int               `yaml:"backoffLimit"`
	PodFailurePolicy *PodFailurePolicy `yaml:"podFailurePolicy,omitempty"`
	Template         PodTemplate       `yaml:"template"`
}

// PodFailurePolicy decides which failed pods count towards backoffLimit.
type PodFailurePolicy struct {
	Rules []PodFailureRule `yaml:"rules"`
}

// PodFailureRule is one rule of a PodFailurePolicy.
type PodFailureRule struct {
	Action          string                 `yaml:"action"`
	OnExitCodes     *OnExitCodes           `yaml:"onExitCodes,omitempty"`
	OnPodConditions []PodConditionSelector `yaml:"onPodConditions,omitempty"`
}

// OnExitCodes selects pods by their container's exit code.
type OnExitCodes struct {
	ContainerName string `yaml:"containerName,omitempty"`
	Operator      string `yaml:"operator"`
	Values        []int  `yaml:"values"`
}

// PodConditionSelector selects pods by a condition.
type PodConditionSelector struct {
	Type   string `yaml:"type"`
	Status string `yaml:"status"`
}

// PodTemplate is a Job's pod template.
type PodTemplate struct {
	Metadata KubeMeta `yaml:"metadata,omitempty"`
	Spec     PodSpec  `yaml:"spec"`
}

// PodSpec is a pod's spec.
type PodSpec struct {
	RestartPolicy string      `yaml:"restartPolicy"`
	Containers    []Container `yaml:"containers"`
	Volumes       []Volume    `yaml:"volumes,omitempty"`
}

// Container is one container of a pod (or an Argo template).
type Container struct {
	Name         string        `yaml:"name,omitempty"`
	Image        string        `yaml:"image"`
	Command      []string      `yaml:"command"`
	Env          []KubeEnv     `yaml:"env,omitempty"`
	Resources    *Resources    `yaml:"resources,omitempty"`
	VolumeMounts []VolumeMount `yaml:"volumeMounts,omitempty"`
}

// KubeEnv is an environment variable of a container.
type KubeEnv struct {
	Name  string `yaml:"name"`
	Value string `yaml:"value"`
}

// Resources are a container's resource requests.
type Resources struct {
	Requests map[string]string `yaml:"requests,omitempty"`
	Limits   map[string]string `yaml:"limits,omitempty"`
}

// VolumeMount mounts a volume in a container.
type VolumeMount struct {
	Name      string `yaml:"name"`
	MountPath string `yaml:"mountPath"`
}

// Volume is a pod's volume; plans use persistent volume claims only.
type Volume struct {
	Name                  string    `yaml:"name"`
	PersistentVolumeClaim *ClaimRef `yaml:"persistentVolumeClaim,omitempty"`
}

// ClaimRef names a PersistentVolumeClaim.
type ClaimRef struct {
	ClaimName string `yaml:"claimName"`
}

const containerName = "takedown"

// container is the container that runs a stage's task number
// $JOB_COMPLETION_INDEX.
func container(s StageJob, o KubeOptions, env []KubeEnv) Container {
	c := Container{
		Name:    containerName,
		Image:   o.Image,
		Command: s.TaskCommand(IndexVar),
		Env:     env,
	}
	req := map[string]string{}
	if o.CPU != "" {
		req["cpu"] = o.CPU
	}
	if o.Mem != "" {
		req["memory"] = o.Mem
	}
	if len(req) > 0 {
		c.Resources = &Resources{Requests: req}
	}
	if o.Mem != "" {
		// The memory is the container's limit too, as --mem is a Slurm
		// task's: takedown reads it from its cgroup and plans within it
		// (internal/sysmem), where without a limit it would plan with the
		// node's memory.
		c.Resources.Limits = map[string]string{"memory": o.Mem}
	}
	if o.Claim != "" && !strings.Contains(o.Workspace, "://") {
		c.VolumeMounts = []VolumeMount{{Name: "workspace", MountPath: o.Workspace}}
	}
	return c
}

func volumes(o KubeOptions) []Volume {
	if o.Claim == "" || strings.Contains(o.Workspace, "://") {
		return nil
	}
	return []Volume{{Name: "workspace", PersistentVolumeClaim: &ClaimRef{ClaimName: o.Claim}}}
}

// KubeJobs are the plan's Indexed Jobs, one per stage in order: the task
// of a pod is its completion index. A Job lists the Jobs before it in its
// AfterAnnotation; apply each once those have completed (kubectl wait
// --for=condition=complete). A pod that exits 75 (busy) runs again, up to
// Retries times; any other failure fails the Job.
func KubeJobs(p *Plan, o KubeOptions) ([]KubeJob, error) {
	if o.Image == "" {
		return nil, fmt.Errorf("no container image given")
	}
	var jobs []KubeJob
	for _, s := range p.Stages {
		labels := map[string]string{"app.kubernetes.io/name": "takedown", "takedown-research.org/plan": p.Name, "takedown-research.org/stage": s.Name}
		j := KubeJob{
			APIVersion: "batch/v1",
			Kind:       "Job",
			Metadata:   KubeMeta{Name: p.JobName(s.Name), Namespace: o.Namespace, Labels: labels},
			Spec: KubeJobSpec{
				CompletionMode: "Indexed",
				Completions:    len(s.Tasks),
				Parallelism:    parallelism(o.Parallelism, len(s.Tasks)),
				BackoffLimit:   o.Retries,
				PodFailurePolicy: &PodFailurePolicy{Rules: []PodFailureRule{
					{Action: "FailJob", OnExitCodes: &OnExitCodes{ContainerName: containerName, Operator: "NotIn", Values: []int{0, 75}}},
					{Action: "Ignore", OnPodConditions: []PodConditionSelector{{Type: "DisruptionTarget", Status: "True"}}},
				}},
				Template: PodTemplate{
					Metadata: KubeMeta{Labels: labels},
					Spec:     PodSpec{RestartPolicy: "Never", Containers: []Container{container(s, o, nil)}, Volumes: volumes(o)},
				},
			},
		}
		if len(s.After) > 0 {
			var after []string
			for _, a := range s.After {
				after = append(after, p.JobName(a))
			}
			j.Metadata.Annotations = map[string]string{AfterAnnotation: strings.Join(after, ",")}
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}

func parallelism(max, tasks int) int {
	if max <= 0 || max > tasks {
		return tasks
	}
	return max
}

// Kubernetes writes the plan's Jobs as one YAML stream, in stage order,
// with the commands that apply them in order in its head comment.
func Kubernetes(w io.Writer, p *Plan, o KubeOptions) error {
	jobs, err := KubeJobs(p, o)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	b.WriteString("# takedown plan --engine k8s: one Indexed Job per stage; a pod's task is its\n")
	b.WriteString("# JOB_COMPLETION_INDEX. Apply each Job after the ones in its " + AfterAnnotation + "\n")
	b.WriteString("# annotation have completed, e.g. for this file (FILE):\n")
	for _, j := range jobs {
		fmt.Fprintf(&b, "#   kubectl apply -f FILE -l takedown-research.org/stage=%s && kubectl wait --for=condition=complete --timeout=24h job/%s\n",
			j.Metadata.Labels["takedown-research.org/stage"], j.Metadata.Name)
	}
	for _, j := range jobs {
		y, err := marshalYAML(j)
		if err != nil {
			return err
		}
		b.WriteString("---\n")
		b.Write(y)
	}
	_, err = w.Write(b.Bytes())
	return err
}

func marshalYAML(v any) ([]byte, error) {
	return yaml.MarshalWithOptions(v, yaml.UseLiteralStyleIfMultiline(true), yaml.IndentSequence(true))
}

// Argo types: a Workflow with one DAG template and one container template
// per stage.

// ArgoWorkflow is an argoproj.io/v1alpha1 Workflow.
type ArgoWorkflow struct {
	APIVersion string   `yaml:"apiVersion"`
	Kind       string   `yaml:"kind"`
	Metadata   KubeMeta `yaml:"metadata"`
	Spec       ArgoSpec `yaml:"spec"`
}

// ArgoSpec is a Workflow's spec.
type ArgoSpec struct {
	Entrypoint  string         `yaml:"entrypoint"`
	Parallelism int            `yaml:"parallelism,omitempty"`
	Volumes     []Volume       `yaml:"volumes,omitempty"`
	Templates   []ArgoTemplate `yaml:"templates"`
}

// ArgoTemplate is a DAG template or a container template.
type ArgoTemplate struct {
	Name          string         `yaml:"name"`
	Inputs        *ArgoInputs    `yaml:"inputs,omitempty"`
	DAG           *ArgoDAG       `yaml:"dag,omitempty"`
	Container     *Container     `yaml:"container,omitempty"`
	RetryStrategy *RetryStrategy `yaml:"retryStrategy,omitempty"`
}

// ArgoInputs are a template's input parameters.
type ArgoInputs struct {
	Parameters []ArgoParam `yaml:"parameters"`
}

// ArgoParam is a parameter, declared or passed.
type ArgoParam struct {
	Name  string `yaml:"name"`
	Value string `yaml:"value,omitempty"`
}

// ArgoDAG is a DAG template's tasks.
type ArgoDAG struct {
	Tasks []ArgoTask `yaml:"tasks"`
}

// ArgoTask is one DAG task: a stage fanned out over its task indexes.
type ArgoTask struct {
	Name         string         `yaml:"name"`
	Template     string         `yaml:"template"`
	Dependencies []string       `yaml:"dependencies,omitempty"`
	Arguments    *ArgoArguments `yaml:"arguments,omitempty"`
	WithItems    []int          `yaml:"withItems"`
}

// ArgoArguments are the parameters a DAG task passes.
type ArgoArguments struct {
	Parameters []ArgoParam `yaml:"parameters"`
}

// RetryStrategy runs a failed step again while Expression holds.
type RetryStrategy struct {
	Limit      string `yaml:"limit"`
	Expression string `yaml:"expression,omitempty"`
}

// ArgoWorkflowOf is the plan as an Argo Workflow: a DAG task per stage,
// depending on the stages before it and fanned out with withItems over the
// stage's task indexes; each item runs the stage's container template with
// JOB_COMPLETION_INDEX set to the item, so the container command is the
// Kubernetes one. A step that exits 75 (busy) runs again.
func ArgoWorkflowOf(p *Plan, o KubeOptions) (ArgoWorkflow, error) {
	if o.Image == "" {
		return ArgoWorkflow{}, fmt.Errorf("no container image given")
	}
	wf := ArgoWorkflow{
		APIVersion: "argoproj.io/v1alpha1",
		Kind:       "Workflow",
		Metadata:   KubeMeta{Name: p.Name, Namespace: o.Namespace, Labels: map[string]string{"app.kubernetes.io/name": "takedown"}},
		Spec:       ArgoSpec{Entrypoint: "pipeline", Parallelism: o.Parallelism, Volumes: volumes(o)},
	}
	dag := &ArgoDAG{}
	var tmpls []ArgoTemplate
	for _, s := range p.Stages {
		items := make([]int, len(s.Tasks))
		for i := range items {
			items[i] = i
		}
		dag.Tasks = append(dag.Tasks, ArgoTask{
			Name: s.Name, Template: p.JobName(s.Name), Dependencies: s.After,
			Arguments: &ArgoArguments{Parameters: []ArgoParam{{Name: "index", Value: "{{item}}"}}},
			WithItems: items,
		})
		c := container(s, o, []KubeEnv{{Name: IndexVar, Value: "{{inputs.parameters.index}}"}})
		t := ArgoTemplate{Name: p.JobName(s.Name), Inputs: &ArgoInputs{Parameters: []ArgoParam{{Name: "index"}}}, Container: &c}
		if o.Retries > 0 {
			t.RetryStrategy = &RetryStrategy{Limit: strconv.Itoa(o.Retries), Expression: "asInt(lastRetry.exitCode) == 75"}
		}
		tmpls = append(tmpls, t)
	}
	wf.Spec.Templates = append([]ArgoTemplate{{Name: "pipeline", DAG: dag}}, tmpls...)
	return wf, nil
}

// Argo writes the plan as an Argo Workflow (argo submit FILE).
func Argo(w io.Writer, p *Plan, o KubeOptions) error {
	wf, err := ArgoWorkflowOf(p, o)
	if err != nil {
		return err
	}
	y, err := marshalYAML(wf)
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, "# takedown plan --engine argo: argo submit FILE (a DAG of the stages, each fanned out over its tasks)\n"+string(y))
	return err
}
