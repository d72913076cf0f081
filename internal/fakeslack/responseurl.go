package fakeslack

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
)

// responsePost is what slack-go's MsgOptionResponseURL sends (chat.go
// responseURLSender). The flags are read leniently: some clients send them as
// strings.
type responsePost struct {
	Text            string          `json:"text"`
	Blocks          json.RawMessage `json:"blocks"`
	Attachments     json.RawMessage `json:"attachments"`
	ResponseType    string          `json:"response_type"`
	ReplaceOriginal json.RawMessage `json:"replace_original"`
	DeleteOriginal  json.RawMessage `json:"delete_original"`
	ThreadTS        string          `json:"thread_ts"`
}

func truthy(raw json.RawMessage) bool {
	s := strings.Trim(string(bytes.TrimSpace(raw)), `"`)
	return s == "true" || s == "1"
}

// serveResponseURL answers a post to a response_url. Success is 200
// application/json {"ok":true}; slack-go parses the reply by Content-Type and
// would take any non-JSON body other than "ok" as an error (api-facts 1.2).
// Failures follow Slack's hooks: a 4xx status with a plain-text reason.
func (s *Server) serveResponseURL(w http.ResponseWriter, r *http.Request) {
	body := readBody(r)
	key := strings.TrimPrefix(r.URL.Path, "/response/")
	// The JSON work happens before taking the lock: under a burst of
	// replies it would otherwise hold up the socket's sender and reader,
	// and with them every latency the fake is used to measure.
	p := parseResponsePost(body)
	header := r.Header.Clone()

	s.mu.Lock()
	defer s.mu.Unlock()
	call := Call{Method: "response_url", HTTPMethod: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
		Header: header, Body: body, Status: http.StatusOK}
	if inj, ok := s.takeFailure("response_url"); ok {
		call.Status, call.Error = inj.status, errorField([]byte(inj.body))
		s.record(call)
		writeInjected(w, inj)
		return
	}
	status, code := s.respond(key, r.Method, p)
	call.Status, call.Error = status, code
	if _, known := s.hooks[key]; !known || r.Method != http.MethodPost {
		// The fake handed out no such URL, or it is not posted to: no
		// test means to send that unless it says so.
		s.strays.Add(r.Method, r.URL.EscapedPath(), r.URL.Path, "response_url "+code)
	}
	s.record(call)
	if code != "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(code))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// parsedResponse is a response_url post read and checked, ready to apply.
type parsedResponse struct {
	post      responsePost
	invalid   bool            // not JSON
	badBlocks bool            // blocks Slack would refuse
	blocks    json.RawMessage // normalized, as stored
}

func parseResponsePost(body []byte) parsedResponse {
	var p parsedResponse
	if err := json.Unmarshal(body, &p.post); err != nil {
		p.invalid = true
		return p
	}
	if hasBlocks(p.post.Blocks) {
		if problems, err := validateBlocks(p.post.Blocks, maxMessageBlocks); err != nil || len(problems) > 0 {
			p.badBlocks = true
		}
		p.blocks = normalizeBlocks(p.post.Blocks)
	}
	return p
}

// respond applies a response_url post and returns the status and error code
// ("" on success). Callers hold s.mu.
func (s *Server) respond(key, method string, p parsedResponse) (int, string) {
	hook, ok := s.hooks[key]
	switch {
	case method != http.MethodPost:
		return http.StatusMethodNotAllowed, "invalid_method"
	case !ok:
		return http.StatusNotFound, "expired_url"
	case hook.uses >= maxResponseURLUses:
		return http.StatusNotFound, "used_url" // [UNVERIFIED] status and wording
	case p.invalid:
		return http.StatusBadRequest, "invalid_payload"
	}
	post := p.post
	hook.uses++

	original := s.findMessage(hook.channel, hook.original)
	if hook.original != "" && original == nil {
		return http.StatusNotFound, "message_not_found"
	}
	if truthy(post.DeleteOriginal) {
		if original != nil {
			original.Deleted = true
			original.Updates++
			original.Via = "response_url"
			s.notify()
		}
		return http.StatusOK, ""
	}
	if post.Text == "" && !hasBlocks(post.Blocks) && len(post.Attachments) == 0 {
		return http.StatusBadRequest, "no_text"
	}
	if p.badBlocks {
		return http.StatusBadRequest, "invalid_blocks"
	}
	replace := truthy(post.ReplaceOriginal)
	if replace && original != nil {
		// A replacement takes the whole message: blocks not sent are gone.
		original.Text = post.Text
		original.Blocks = p.blocks
		original.Updates++
		original.Via = "response_url"
		original.ReplaceOriginal = true
		original.ResponseType = post.ResponseType
		s.notify()
		return http.StatusOK, ""
	}
	ephemeral := post.ResponseType != "in_channel"
	m := &Message{Channel: hook.channel, TS: s.nextTS(), ThreadTS: post.ThreadTS, Text: post.Text,
		Author: BotUserID, Blocks: p.blocks, Ephemeral: ephemeral, Via: "response_url",
		ResponseType: post.ResponseType, ReplaceOriginal: replace}
	if ephemeral {
		m.User = hook.user
	}
	s.messages = append(s.messages, m)
	s.notify()
	return http.StatusOK, ""
}
