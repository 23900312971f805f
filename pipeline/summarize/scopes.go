package summarize

import (
	"encoding/binary"
	"fmt"
)

// Tags of the scope counter's keys: tag, scope number (4 bytes, big
// endian), then
//
//	tagDayAccount: day (8 bytes), interned account (4 bytes): one key per
//	               distinct (day, account) of the scope
//	tagEntity:     kind (1 byte), value: the posts carrying it
//	tagText:       normalized text: the posts carrying it (clusters only)
const (
	tagDayAccount = iota
	tagEntity
	tagText
)

// scopeKey starts a key of the scope counter in s.kb.
func (s *state) scopeKey(tag byte, sc *scopeAgg) []byte {
	s.kb = binary.BigEndian.AppendUint32(append(s.kb[:0], tag), sc.num)
	return s.kb
}

// addPost adds one post to a scope.
func (s *state) addPost(sc *scopeAgg, v *postView) error {
	if sc.posts == 0 || v.at < sc.first {
		sc.first = v.at
	}
	if sc.posts == 0 || v.at > sc.last {
		sc.last = v.at
	}
	sc.posts++
	sc.days[v.day]++
	s.kb = binary.BigEndian.AppendUint64(s.scopeKey(tagDayAccount, sc), uint64(v.day))
	s.kb = binary.BigEndian.AppendUint32(s.kb, v.acct)
	if err := s.counts.add(s.kb, 1); err != nil {
		return err
	}
	for kind := range numKinds {
		for _, x := range v.values[kind] {
			s.kb = append(append(s.scopeKey(tagEntity, sc), byte(kind)), x...)
			if err := s.counts.add(s.kb, 1); err != nil {
				return err
			}
		}
	}
	return nil
}

// addText counts one post of a cluster carrying a normalized text.
func (s *state) addText(sc *scopeAgg, text string) error {
	s.kb = append(s.scopeKey(tagText, sc), text...)
	return s.counts.add(s.kb, 1)
}

// pubKey is the key of s.pubCounts: an entity kind and value.
func pubKey(kind int, value string) string { return string(rune('0'+kind)) + value }

// finishScopes merges the scope counter into the scopes' distinct accounts
// per day, top entities and top texts, and the release's counts of the
// published top entities (s.pubCounts). What it keeps is TopN entries per
// scope and kind, not the distinct values.
func (s *state) finishScopes() error {
	scopes := make([]*scopeAgg, 1+len(s.clusters))
	scopes[0] = s.rel
	for _, c := range s.clusters {
		scopes[c.agg.num] = c.agg
	}
	tops := make([][numKinds + 1]topList, len(scopes))
	for i := range tops {
		for k := range tops[i] {
			tops[i][k].n = s.p.TopN
		}
	}
	s.pubCounts = map[string]int64{}
	if pub := s.p.Published; pub != nil {
		want := func(kind int, list []string, canon func(string) string) {
			for _, e := range list {
				if v, _, ok := splitRanked(e); ok {
					s.pubCounts[pubKey(kind, canon(v))] = 0
				}
			}
		}
		same := func(v string) string { return v }
		want(kLanguage, pub.TopLanguages, same)
		want(kHashtag, pub.TopHashtags, s.rules.Hashtag)
		want(kClient, pub.TopClients, same)
	}
	err := s.counts.each(func(k []byte, n int64) error {
		if len(k) < 5 {
			return fmt.Errorf("scope counter: short key %q", k)
		}
		num := binary.BigEndian.Uint32(k[1:5])
		if int(num) >= len(scopes) {
			return fmt.Errorf("scope counter: scope %d out of range", num)
		}
		sc := scopes[num]
		switch k[0] {
		case tagDayAccount:
			sc.dayAccounts[int64(binary.BigEndian.Uint64(k[5:13]))]++
		case tagEntity:
			kind := int(k[5])
			value := string(k[6:])
			if num == 0 {
				pk := pubKey(kind, value)
				if _, ok := s.pubCounts[pk]; ok {
					s.pubCounts[pk] = n
				}
			}
			tops[num][kind].add(value, n)
		case tagText:
			tops[num][numKinds].add(string(k[5:]), n)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("summarize: %w", err)
	}
	for i, sc := range scopes {
		for k := range numKinds {
			sc.top[k] = tops[i][k].result()
		}
		sc.texts = tops[i][numKinds].result()
	}
	return nil
}
