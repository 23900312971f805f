package fingerprint

import (
	"encoding/json"
	"os"
	"testing"
)

// TestToolkitTextPython compares ToolkitText with the toolkit's own Python rule on
// the texts of testdata/cnt_python.json, which testdata/cnt_python.py wrote
// by running that rule (see the script for the Python version).
func TestToolkitTextPython(t *testing.T) {
	b, err := os.ReadFile("testdata/cnt_python.json")
	if err != nil {
		t.Fatal(err)
	}
	var data struct {
		Python string
		Cases  []struct{ In, Want string }
	}
	if err := json.Unmarshal(b, &data); err != nil {
		t.Fatal(err)
	}
	if len(data.Cases) < 100 {
		t.Fatalf("only %d cases", len(data.Cases))
	}
	for _, c := range data.Cases {
		if got := ToolkitText(c.In); got != c.Want {
			t.Errorf("ToolkitText(%q) = %q, Python %s gives %q", c.In, got, data.Python, c.Want)
		}
	}
}

func TestToolkitTextKeys(t *testing.T) {
	cases := []struct{ a, b string }{
		{"Vote NOW @alice", "vote now"},
		{"vote   now\n", "VOTE now @bob @carol"},
	}
	for _, c := range cases {
		if ToolkitText(c.a) != ToolkitText(c.b) {
			t.Errorf("ToolkitText(%q) = %q and ToolkitText(%q) = %q should match", c.a, ToolkitText(c.a), c.b, ToolkitText(c.b))
		}
	}
	// Unlike text_key, different short links and an RT marker make different texts.
	if ToolkitText("Big news https://t.co/aaa") == ToolkitText("Big news https://t.co/bbb") {
		t.Error("the coordination-network-toolkit keeps URLs: different links must differ")
	}
	if ToolkitText("RT @a: Big news") == ToolkitText("Big news") {
		t.Error("the coordination-network-toolkit keeps the RT marker's letters")
	}
	// The cleaner's \s (the `regex` module's) does not match U+001C..U+001F,
	// str.split's white space does: inside a mention they are removed with
	// it, elsewhere they separate words.
	for in, want := range map[string]string{"@m\x1cKeep x": "x", "a\x1cb": "a b", "a@b\x1dc d": "a d"} {
		if got := ToolkitText(in); got != want {
			t.Errorf("ToolkitText(%q) = %q, want %q", in, got, want)
		}
	}
}
