// Package rules owns the domain rules every stage must apply alike: text
// normalization (NormalizeText, Normalizer.Text), hashtag normalization
// (Normalizer.Hashtag), URL canonicalization and registrable domains
// (CanonicalURL, RegistrableDomain, Domain) and word shingles
// (AppendShingles). The fingerprint stage makes its keys with them, the
// cluster stage verifies near-duplicates with the same shingles and the
// summarize stage counts hashtags and domains with the same rules, so a
// value means the same thing in every table.
//
// The rules are versioned together: Version changes whenever any of them
// maps some input to another output (another key). It is not a stage
// version: a stage whose output a new rule changes bumps its own version
// too.
package rules

// Version is the version of the rules in this package: text and hashtag
// normalization, URL canonicalization and registrable domains, shingles. The
// fingerprint stage records it in every fingerprints row (normalizer_version)
// and in its parameters (so that it enters the run id); the cluster stage
// refuses rows of another version. Bump it whenever a rule maps some input
// differently.
const Version = 1
