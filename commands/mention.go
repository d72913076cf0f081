package commands

import "strings"

// Mentioned reads a word that mentions one person, <@U123> or <@U123|name>,
// the way Slack hands a command the people it mentions, and returns their
// id. The shell writes @name as <@name>, so an id is any run of letters,
// digits, dots, dashes and underscores; in Slack a typed "<" arrives as
// "&lt;", so only Slack itself writes this form.
func Mentioned(word string) (id string, ok bool) {
	inner, ok := strings.CutPrefix(word, "<@")
	if !ok {
		return "", false
	}
	if inner, ok = strings.CutSuffix(inner, ">"); !ok {
		return "", false
	}
	id, _, _ = strings.Cut(inner, "|")
	if id == "" {
		return "", false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return "", false
		}
	}
	return id, true
}
