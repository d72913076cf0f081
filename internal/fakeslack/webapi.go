package fakeslack

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// params are a Web API call's arguments. Slack takes them as query, form or
// JSON body; slack-go uses all three (forms for most methods, GET for
// chat.getPermalink, JSON for views.* and apps.connections.open).
type params struct {
	values url.Values
	json   map[string]json.RawMessage // top-level keys of a JSON body; nil otherwise
}

func (p params) str(k string) string { return p.values.Get(k) }

func (p params) has(k string) bool { _, ok := p.values[k]; return ok }

func (p params) flag(k string) bool {
	v := p.values.Get(k)
	return v == "true" || v == "1"
}

// raw returns a JSON-valued argument (blocks, view): a form field holds it as
// a JSON string, a JSON body holds it inline or, like a form, as a string.
func (p params) raw(k string) json.RawMessage {
	if v, ok := p.json[k]; ok {
		var s string
		if json.Unmarshal(v, &s) == nil {
			return json.RawMessage(s)
		}
		return v
	}
	if v := p.values.Get(k); v != "" {
		return json.RawMessage(v)
	}
	return nil
}

var errNotObject = errors.New("json_not_object")

func decodeParams(r *http.Request, body []byte) (params, error) {
	p := params{values: r.URL.Query()}
	ctype, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ctype {
	case "application/json":
		if len(bytes.TrimSpace(body)) == 0 {
			return p, nil // slack-go's apps.connections.open posts no body
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(body, &obj); err != nil {
			if json.Valid(body) {
				return p, errNotObject
			}
			return p, err
		}
		p.json = obj
		for k, v := range obj {
			var s string
			if json.Unmarshal(v, &s) == nil {
				p.values.Set(k, s)
			} else {
				p.values.Set(k, string(v))
			}
		}
	default:
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return p, err
		}
		for k, vs := range form {
			p.values[k] = append(p.values[k], vs...)
		}
	}
	return p, nil
}

// reply is a Web API answer body; ok:false replies carry "error".
type reply map[string]any

func fail(code string) reply { return reply{"ok": false, "error": code} }

type apiHandler func(s *Server, p params, r *http.Request) reply

// handler returns the implementation of method, nil when the fake does not
// know it. Callers hold s.mu.
func handler(method string) apiHandler {
	switch method {
	case "auth.test":
		return (*Server).authTest
	case "apps.connections.open":
		return (*Server).appsConnectionsOpen
	case "chat.postMessage":
		return (*Server).chatPostMessage
	case "chat.update":
		return (*Server).chatUpdate
	case "chat.postEphemeral":
		return (*Server).chatPostEphemeral
	case "chat.getPermalink":
		return (*Server).chatGetPermalink
	case "conversations.replies":
		return (*Server).conversationsReplies
	case "conversations.create":
		return (*Server).conversationsCreate
	case "conversations.invite":
		return (*Server).conversationsInvite
	case "conversations.info":
		return (*Server).conversationsInfo
	case "conversations.join":
		return (*Server).conversationsJoin
	case "usergroups.users.list":
		return (*Server).usergroupsUsersList
	case "users.info":
		return (*Server).usersInfo
	case "users.lookupByEmail":
		return (*Server).usersLookupByEmail
	case "views.open":
		return (*Server).viewsOpen
	case "views.update":
		return (*Server).viewsUpdate
	case "views.publish":
		return (*Server).viewsPublish
	case "reactions.add":
		return (*Server).reactionsAdd
	case "files.getUploadURLExternal":
		return (*Server).filesGetUploadURLExternal
	case "files.completeUploadExternal":
		return (*Server).filesCompleteUploadExternal
	}
	return nil
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	body := readBody(r)
	p, decodeErr := decodeParams(r, body)

	s.mu.Lock()
	defer s.mu.Unlock()
	call := Call{Method: method, HTTPMethod: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
		Header: r.Header.Clone(), Body: body, Values: p.values, Status: http.StatusOK}

	if inj, ok := s.takeFailure(method); ok {
		call.Status = inj.status
		call.Error = errorField([]byte(inj.body))
		s.record(call)
		writeInjected(w, inj)
		return
	}

	var resp reply
	h := handler(method)
	switch {
	case h == nil:
		s.strays.Add(r.Method, r.URL.EscapedPath(), r.URL.Path, "unknown_method "+method)
		resp = reply{"ok": false, "error": "unknown_method", "req_method": method}
	case errors.Is(decodeErr, errNotObject):
		resp = fail("json_not_object")
	case decodeErr != nil:
		resp = fail("invalid_json")
	default:
		if code := s.checkAuth(method, p, r); code != "" {
			resp = fail(code)
		} else {
			resp = h(s, p, r)
		}
	}
	if ok, _ := resp["ok"].(bool); !ok {
		call.Error, _ = resp["error"].(string)
	}
	s.record(call)
	writeJSON(w, http.StatusOK, resp)
}

// record appends a call and wakes waiters. Callers hold s.mu.
func (s *Server) record(c Call) {
	s.calls = append(s.calls, c)
	s.notify()
}

// takeFailure pops the next injected failure for method. Callers hold s.mu.
func (s *Server) takeFailure(method string) (injected, bool) {
	q := s.failures[method]
	if len(q) == 0 {
		return injected{}, false
	}
	s.failures[method] = q[1:]
	q[0].stub.Use()
	return q[0], true
}

func writeInjected(w http.ResponseWriter, inj injected) {
	for k, vs := range inj.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if w.Header().Get("Content-Type") == "" && json.Valid([]byte(inj.body)) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.WriteHeader(inj.status)
	_, _ = w.Write([]byte(inj.body))
}

func errorField(body []byte) string {
	var v struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &v) == nil {
		return v.Error
	}
	return strings.TrimSpace(string(body))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// checkAuth returns "" when the call carries the right token, else Slack's
// error. apps.connections.open reads the app token from the Authorization
// header only (passing it as a POST parameter is an error, api-facts 1.1);
// every other method takes the bot token as header or `token` field (trap 2).
// The other configured token is refused as not_allowed_token_type, as Slack
// does for a token of the wrong type.
func (s *Server) checkAuth(method string, p params, r *http.Request) string {
	bearer, hasBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	want, other := s.botToken, s.appToken
	token := p.str("token")
	if hasBearer {
		token = bearer
	}
	if method == "apps.connections.open" {
		want, other = s.appToken, s.botToken
		token = ""
		if hasBearer {
			token = bearer
		}
	}
	switch token {
	case "":
		return "not_authed"
	case want:
		return ""
	case other:
		return "not_allowed_token_type"
	}
	return "invalid_auth"
}

func (s *Server) authTest(params, *http.Request) reply {
	return reply{"ok": true, "url": "https://" + TeamDomain + ".slack.com/", "team": TeamName, "user": BotName,
		"team_id": TeamID, "user_id": BotUserID, "bot_id": BotID, "is_enterprise_install": false}
}

func (s *Server) appsConnectionsOpen(_ params, r *http.Request) reply {
	s.seq++
	ticket := strconv.FormatInt(s.seq, 10) + randomHex(6)
	s.tickets[ticket] = false
	scheme := "ws"
	if r.TLS != nil {
		scheme = "wss"
	}
	return reply{"ok": true, "url": scheme + "://" + r.Host + "/socket?ticket=" + ticket + "&app_id=" + AppID}
}

var idPattern = regexp.MustCompile(`^[CGDUW][A-Z0-9]+$`)

// resolveChannel finds the channel a chat method names: an ID (trusted and
// registered if new), a user ID (their DM with the bot) or a #name. Callers
// hold s.mu.
func (s *Server) resolveChannel(arg string) (*channel, string) {
	switch {
	case arg == "":
		return nil, "channel_not_found"
	case idPattern.MatchString(arg) && (arg[0] == 'U' || arg[0] == 'W'):
		dm := s.ensureChannel("D"+arg[1:], arg)
		dm.members[arg], dm.members[BotUserID] = true, true
		return dm, ""
	case idPattern.MatchString(arg):
		return s.implicitChannel(arg, ""), ""
	}
	name := strings.TrimPrefix(arg, "#")
	for _, c := range s.channels {
		if c.Name == name {
			return c, ""
		}
	}
	return nil, "channel_not_found"
}

// canPost reports Slack's error for the bot writing to c: a private channel
// it is not in is invisible, a public one needs membership (the manifest
// has chat:write but not chat:write.public).
func canPost(c *channel) string {
	if c.members[BotUserID] {
		return ""
	}
	if c.Private {
		return "channel_not_found"
	}
	return "not_in_channel"
}

// messageContent reads text and blocks for a chat method, checking them the
// way Slack does. Callers hold s.mu.
func messageContent(p params) (text string, blocks json.RawMessage, r reply) {
	text = p.str("text")
	blocks = p.raw("blocks")
	if len(text) > 40000 {
		return "", nil, fail("msg_too_long")
	}
	if blocks != nil {
		if r := blocksReply(blocks, maxMessageBlocks); r != nil {
			return "", nil, r
		}
	}
	return text, blocks, nil
}

func blocksReply(blocks json.RawMessage, limit int) reply {
	problems, err := validateBlocks(blocks, limit)
	if err != nil {
		return fail("invalid_blocks_format")
	}
	if len(problems) == 0 {
		return nil
	}
	msgs := make([]string, len(problems))
	for i, pr := range problems {
		msgs[i] = "[ERROR] " + pr
	}
	return reply{"ok": false, "error": "invalid_blocks", "errors": problems,
		"response_metadata": map[string]any{"messages": msgs}}
}

func hasBlocks(b json.RawMessage) bool {
	t := bytes.TrimSpace(b)
	return len(t) > 0 && !bytes.Equal(t, []byte("[]")) && !bytes.Equal(t, []byte("null"))
}

func (s *Server) chatPostMessage(p params, _ *http.Request) reply {
	c, code := s.resolveChannel(p.str("channel"))
	if code == "" {
		code = canPost(c)
	}
	if code != "" {
		return fail(code)
	}
	text, blocks, bad := messageContent(p)
	if bad != nil {
		return bad
	}
	if text == "" && !hasBlocks(blocks) && p.str("attachments") == "" {
		return fail("no_text")
	}
	m := &Message{Channel: c.ID, TS: s.nextTS(), ThreadTS: p.str("thread_ts"), Text: text, Author: BotUserID,
		Blocks: normalizeBlocks(blocks), Via: "chat.postMessage"}
	s.messages = append(s.messages, m)
	s.notify()
	return reply{"ok": true, "channel": c.ID, "ts": m.TS, "message": s.wireMessage(m)}
}

// normalizeBlocks stores blocks the way Slack does: a block without block_id
// and an interactive element without action_id get a generated one, which
// is what later arrives in block_actions payloads.
func normalizeBlocks(b json.RawMessage) json.RawMessage {
	if !hasBlocks(b) {
		return nil
	}
	var blocks []map[string]json.RawMessage
	if json.Unmarshal(b, &blocks) != nil {
		return append(json.RawMessage(nil), b...)
	}
	for _, blk := range blocks {
		if _, ok := blk["block_id"]; !ok {
			blk["block_id"] = jsonString(randomID(5))
		}
		if acc, ok := blk["accessory"]; ok {
			blk["accessory"] = withActionID(acc)
		}
		if blk["type"] != nil && string(blk["type"]) == `"actions"` {
			var elems []json.RawMessage
			if json.Unmarshal(blk["elements"], &elems) == nil {
				for i, e := range elems {
					elems[i] = withActionID(e)
				}
				blk["elements"], _ = json.Marshal(elems)
			}
		}
	}
	out, err := json.Marshal(blocks)
	if err != nil {
		return append(json.RawMessage(nil), b...)
	}
	return out
}

func withActionID(raw json.RawMessage) json.RawMessage {
	var e map[string]json.RawMessage
	if json.Unmarshal(raw, &e) != nil {
		return raw
	}
	if _, ok := e["action_id"]; ok {
		return raw
	}
	e["action_id"] = jsonString(randomID(5))
	out, err := json.Marshal(e)
	if err != nil {
		return raw
	}
	return out
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

func (s *Server) chatUpdate(p params, _ *http.Request) reply {
	ch, ts := p.str("channel"), p.str("ts")
	// Unlike chat.postMessage, chat.update takes only a channel id: a name
	// is channel_not_found (Slack's SDK maintainers call it server-side spec,
	// slackapi/python-slack-sdk#696).
	if ch == "" || !idPattern.MatchString(ch) {
		return fail("channel_not_found")
	}
	m := s.findMessage(ch, ts)
	// Ephemeral messages exist only on the user's client; Slack cannot find
	// them for chat.update (only their response_url can replace them).
	if m == nil || m.Ephemeral || m.Deleted {
		return fail("message_not_found")
	}
	if m.Author != BotUserID {
		return fail("cant_update_message")
	}
	text, blocks, bad := messageContent(p)
	if bad != nil {
		return bad
	}
	if !p.has("text") && !p.has("blocks") && !p.has("attachments") {
		return fail("no_text")
	}
	if p.has("text") {
		m.Text = text
	}
	if p.has("blocks") {
		m.Blocks = normalizeBlocks(blocks)
	}
	m.Updates++
	m.Via = "chat.update"
	s.notify()
	return reply{"ok": true, "channel": m.Channel, "ts": m.TS, "text": m.Text, "message": s.wireMessage(m)}
}

func (s *Server) chatPostEphemeral(p params, _ *http.Request) reply {
	c, code := s.resolveChannel(p.str("channel"))
	if code == "" {
		code = canPost(c)
	}
	if code != "" {
		return fail(code)
	}
	user := p.str("user")
	if user == "" {
		return fail("user_not_found")
	}
	text, blocks, bad := messageContent(p)
	if bad != nil {
		return bad
	}
	if text == "" && !hasBlocks(blocks) && p.str("attachments") == "" {
		return fail("no_text")
	}
	s.ensureUser(user, "")
	m := &Message{Channel: c.ID, TS: s.nextTS(), ThreadTS: p.str("thread_ts"), Text: text, User: user,
		Author: BotUserID, Blocks: normalizeBlocks(blocks), Ephemeral: true, Via: "chat.postEphemeral"}
	s.messages = append(s.messages, m)
	s.notify()
	return reply{"ok": true, "message_ts": m.TS}
}

func (s *Server) chatGetPermalink(p params, _ *http.Request) reply {
	ch := p.str("channel")
	if _, ok := s.channels[ch]; !ok {
		return fail("channel_not_found")
	}
	m := s.findMessage(ch, p.str("message_ts"))
	if m == nil || m.Ephemeral || m.Deleted {
		return fail("message_not_found")
	}
	link := "https://" + TeamDomain + ".slack.com/archives/" + ch + "/p" + strings.ReplaceAll(m.TS, ".", "")
	if m.ThreadTS != "" && m.ThreadTS != m.TS {
		link += "?thread_ts=" + m.ThreadTS + "&cid=" + ch
	}
	return reply{"ok": true, "channel": ch, "permalink": link}
}

// wireMessage is m as Slack's message object. Callers hold s.mu.
func (s *Server) wireMessage(m *Message) map[string]any {
	o := map[string]any{"type": "message", "text": m.Text, "ts": m.TS, "user": m.Author, "team": TeamID}
	if m.Author == BotUserID {
		o["bot_id"] = BotID
		o["app_id"] = AppID
		o["bot_profile"] = map[string]any{"id": BotID, "app_id": AppID, "name": BotName, "deleted": false, "team_id": TeamID}
	}
	if len(m.Blocks) > 0 {
		o["blocks"] = m.Blocks
	}
	if m.ThreadTS != "" {
		o["thread_ts"] = m.ThreadTS
		if m.ThreadTS != m.TS {
			if parent := s.findMessage(m.Channel, m.ThreadTS); parent != nil {
				o["parent_user_id"] = parent.Author
			}
		}
	}
	if m.Updates > 0 {
		o["edited"] = map[string]any{"user": m.Author, "ts": m.TS}
	}
	return o
}

func (s *Server) conversationsReplies(p params, _ *http.Request) reply {
	c, ok := s.channels[p.str("channel")]
	if !ok {
		return fail("channel_not_found")
	}
	if !c.members[BotUserID] {
		if c.Private {
			return fail("channel_not_found")
		}
		return fail("not_in_channel")
	}
	m := s.findMessage(c.ID, p.str("ts"))
	if m == nil || m.Ephemeral || m.Deleted {
		return fail("thread_not_found")
	}
	// ts may name the parent or any reply; either way Slack returns the thread.
	root := m.TS
	if m.ThreadTS != "" {
		root = m.ThreadTS
	}
	var parent *Message
	var replies []*Message
	for _, x := range s.messages {
		if x.Channel != c.ID || x.Ephemeral || x.Deleted {
			continue
		}
		switch {
		case x.TS == root:
			parent = x
		case x.ThreadTS == root:
			replies = append(replies, x)
		}
	}
	var out []map[string]any
	if parent != nil {
		po := s.wireMessage(parent)
		if len(replies) > 0 {
			users := []string{}
			seen := map[string]bool{}
			for _, r := range replies {
				if !seen[r.Author] {
					seen[r.Author] = true
					users = append(users, r.Author)
				}
			}
			po["thread_ts"] = root
			po["reply_count"] = len(replies)
			po["reply_users_count"] = len(users)
			po["reply_users"] = users
			po["latest_reply"] = replies[len(replies)-1].TS
		}
		out = append(out, po)
	}
	for _, r := range replies {
		out = append(out, s.wireMessage(r))
	}
	return reply{"ok": true, "messages": out, "has_more": false}
}

var (
	channelNameAllowed = regexp.MustCompile(`^[a-z0-9_-]+$`)
	channelNamePunct   = regexp.MustCompile(`^[_-]+$`)
)

// validChannelName applies Slack's naming rule: lowercase letters, numbers,
// hyphens and underscores, at most 80 characters [DOC conversations.create].
func validChannelName(name string) string {
	switch {
	case name == "":
		return "invalid_name_required"
	case len([]rune(name)) > 80:
		return "invalid_name_maxlength"
	case !channelNameAllowed.MatchString(name):
		return "invalid_name_specials"
	case channelNamePunct.MatchString(name):
		return "invalid_name_punctuation"
	}
	return ""
}

func (s *Server) conversationsCreate(p params, _ *http.Request) reply {
	name := p.str("name")
	if code := validChannelName(name); code != "" {
		return fail(code)
	}
	for _, c := range s.channels {
		if c.Name == name {
			return fail("name_taken")
		}
	}
	private := p.flag("is_private")
	c := &channel{Channel: Channel{ID: s.nextID("C"), Name: name, Private: private, Creator: BotUserID},
		created: time.Now().Unix(), members: map[string]bool{BotUserID: true}}
	s.channels[c.ID] = c
	s.notify()
	return reply{"ok": true, "channel": s.wireChannel(c, false)}
}

// wireChannel is c as Slack's conversation object (conversations.create's
// documented example). Callers hold s.mu.
func (s *Server) wireChannel(c *channel, numMembers bool) map[string]any {
	o := map[string]any{
		// Private channels made since 2021 are is_channel with is_private;
		// is_group marks only older ones, whose IDs start with G.
		"id": c.ID, "name": c.Name, "is_channel": !strings.HasPrefix(c.ID, "D"),
		"is_group": strings.HasPrefix(c.ID, "G"), "is_im": strings.HasPrefix(c.ID, "D"), "created": c.created, "creator": c.Creator,
		"is_archived": false, "is_general": false, "unlinked": 0, "name_normalized": c.Name,
		"is_shared": false, "is_ext_shared": false, "is_org_shared": false, "pending_shared": []string{},
		"is_pending_ext_shared": false, "is_member": c.members[BotUserID], "is_private": c.Private,
		"is_mpim": false, "last_read": "0000000000.000000", "latest": nil, "unread_count": 0,
		"unread_count_display": 0,
		"topic":                map[string]any{"value": "", "creator": "", "last_set": 0},
		"purpose":              map[string]any{"value": "", "creator": "", "last_set": 0},
		"previous_names":       []string{}, "priority": 0,
	}
	if numMembers {
		o["num_members"] = len(c.members)
	}
	return o
}

func (s *Server) conversationsInvite(p params, _ *http.Request) reply {
	c, ok := s.channels[p.str("channel")]
	if !ok || (c.Private && !c.members[BotUserID]) {
		return fail("channel_not_found")
	}
	if !c.members[BotUserID] {
		return fail("not_in_channel")
	}
	var users []string
	for _, u := range strings.Split(p.str("users"), ",") {
		if u = strings.TrimSpace(u); u != "" {
			users = append(users, u)
		}
	}
	if len(users) == 0 {
		return fail("no_user")
	}
	var errs []map[string]any
	var good []string
	for _, u := range users {
		code := ""
		switch {
		case u == BotUserID:
			code = "cant_invite_self"
		case c.members[u]:
			code = "already_in_channel"
		case s.users[u] == nil:
			code = "user_not_found"
		}
		if code != "" {
			errs = append(errs, map[string]any{"user": u, "ok": false, "error": code})
		} else {
			good = append(good, u)
		}
	}
	// Without force Slack invites no one when any user fails; with force it
	// invites the valid ones and still reports the failures [UNVERIFIED].
	if len(errs) == 0 || p.flag("force") {
		for _, u := range good {
			c.members[u] = true
		}
		s.notify()
	}
	if len(errs) > 0 {
		return reply{"ok": false, "error": errs[0]["error"], "errors": errs}
	}
	return reply{"ok": true, "channel": s.wireChannel(c, false)}
}

func (s *Server) conversationsInfo(p params, _ *http.Request) reply {
	c, ok := s.channels[p.str("channel")]
	if !ok || (c.Private && !c.members[BotUserID]) {
		return fail("channel_not_found")
	}
	return reply{"ok": true, "channel": s.wireChannel(c, p.flag("include_num_members"))}
}

func (s *Server) conversationsJoin(p params, _ *http.Request) reply {
	c, ok := s.channels[p.str("channel")]
	if !ok || (c.Private && !c.members[BotUserID]) {
		return fail("channel_not_found")
	}
	if c.Private || strings.HasPrefix(c.ID, "D") {
		return fail("method_not_supported_for_channel_type")
	}
	r := reply{"ok": true}
	if c.members[BotUserID] {
		r["warning"] = "already_in_channel"
		r["response_metadata"] = map[string]any{"warnings": []string{"already_in_channel"}}
	}
	c.members[BotUserID] = true
	s.notify()
	r["channel"] = s.wireChannel(c, false)
	return r
}

func (s *Server) usergroupsUsersList(p params, _ *http.Request) reply {
	users, ok := s.userGroups[p.str("usergroup")]
	if !ok {
		return fail("no_such_subteam")
	}
	return reply{"ok": true, "users": append([]string{}, users...)}
}

func (s *Server) usersInfo(p params, _ *http.Request) reply {
	u, ok := s.users[p.str("user")]
	if !ok {
		return fail("user_not_found")
	}
	return s.wireUser(u)
}

// usersLookupByEmail answers as Slack does (users:read.email): the member
// with that e-mail, compared without case, else users_not_found; no email
// argument is invalid_arguments.
func (s *Server) usersLookupByEmail(p params, _ *http.Request) reply {
	email := strings.TrimSpace(p.str("email"))
	if email == "" {
		return fail("invalid_arguments")
	}
	for _, u := range s.users {
		if u.Email != "" && strings.EqualFold(u.Email, email) {
			return s.wireUser(u)
		}
	}
	return fail("users_not_found")
}

// wireUser is u as Slack's user object. Callers hold s.mu.
func (s *Server) wireUser(u *User) reply {
	profile := map[string]any{"real_name": u.RealName, "real_name_normalized": u.RealName,
		"display_name": u.Name, "display_name_normalized": u.Name, "email": u.Email, "team": TeamID,
		"image_48": "https://avatars.slack-edge.com/" + u.ID + "_48.png"}
	if u.IsBot {
		profile["bot_id"] = BotID
		profile["api_app_id"] = AppID
	}
	return reply{"ok": true, "user": map[string]any{
		"id": u.ID, "team_id": TeamID, "name": u.Name, "deleted": false, "color": "9f69e7",
		"real_name": u.RealName, "tz": "Europe/London", "tz_label": "Greenwich Mean Time", "tz_offset": 0,
		"profile": profile, "is_admin": false, "is_owner": false, "is_primary_owner": false,
		"is_restricted": false, "is_ultra_restricted": false, "is_bot": u.IsBot, "is_app_user": false,
		"updated": 1700000000,
	}}
}

// viewBody parses the "view" argument and checks its type and blocks.
func viewBody(p params, wantType string) (map[string]json.RawMessage, reply) {
	raw := p.raw("view")
	if raw == nil {
		return nil, fail("invalid_arguments")
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, fail("invalid_arguments")
	}
	var typ string
	_ = json.Unmarshal(body["type"], &typ)
	if typ != wantType {
		return nil, fail("invalid_arguments")
	}
	if b, ok := body["blocks"]; ok {
		if r := blocksReply(b, maxViewBlocks); r != nil {
			return nil, r
		}
	}
	return body, nil
}

// wireView is v as Slack's view object: what the app sent plus the fields
// Slack fills in. Callers hold s.mu.
func (s *Server) wireView(v *view) map[string]any {
	o := map[string]any{
		"id": v.id, "team_id": TeamID, "private_metadata": "", "callback_id": "", "external_id": v.externalID,
		"state": map[string]any{"values": map[string]any{}}, "hash": v.hash, "clear_on_close": false,
		"notify_on_close": false, "root_view_id": v.id, "previous_view_id": nil, "app_id": AppID,
		"app_installed_team_id": TeamID, "bot_id": BotID, "blocks": []any{},
	}
	for k, val := range v.body {
		switch k {
		case "id", "hash", "team_id", "app_id", "bot_id", "state", "root_view_id":
		default:
			o[k] = val
		}
	}
	return o
}

func (s *Server) newHash() string {
	return strconv.FormatInt(time.Now().Unix(), 10) + "." + randomHex(4)
}

func (s *Server) storeView(v *view, raw json.RawMessage) {
	s.viewsByID[v.id] = v
	s.views = append(s.views, append(json.RawMessage(nil), raw...))
	s.notify()
}

func (s *Server) viewsOpen(p params, _ *http.Request) reply {
	trigger := p.str("trigger_id")
	used, issued := s.triggers[trigger]
	switch {
	case trigger == "" || !issued:
		return fail("invalid_trigger_id")
	case used:
		return fail("exchanged_trigger_id")
	}
	body, bad := viewBody(p, "modal")
	if bad != nil {
		return bad
	}
	s.triggers[trigger] = true
	v := &view{id: s.nextID("V"), hash: s.newHash(), body: body}
	_ = json.Unmarshal(body["external_id"], &v.externalID)
	s.storeView(v, p.raw("view"))
	return reply{"ok": true, "view": s.wireView(v)}
}

func (s *Server) viewsUpdate(p params, _ *http.Request) reply {
	var v *view
	if id := p.str("view_id"); id != "" {
		v = s.viewsByID[id]
	} else if ext := p.str("external_id"); ext != "" {
		for _, x := range s.viewsByID {
			if x.externalID == ext {
				v = x
			}
		}
	} else {
		return fail("invalid_arguments")
	}
	if v == nil {
		return fail("not_found")
	}
	if h := p.str("hash"); h != "" && h != v.hash {
		return fail("hash_conflict")
	}
	body, bad := viewBody(p, "modal")
	if bad != nil {
		return bad
	}
	v.body, v.hash = body, s.newHash()
	s.storeView(v, p.raw("view"))
	return reply{"ok": true, "view": s.wireView(v)}
}

func (s *Server) viewsPublish(p params, _ *http.Request) reply {
	user := p.str("user_id")
	if user == "" {
		return fail("invalid_arguments")
	}
	if _, ok := s.users[user]; !ok {
		return fail("user_not_found")
	}
	body, bad := viewBody(p, "home")
	if bad != nil {
		return bad
	}
	v := s.viewsByID[s.homeViews[user]]
	if v == nil {
		v = &view{id: s.nextID("V"), userID: user}
		s.homeViews[user] = v.id
	} else if h := p.str("hash"); h != "" && h != v.hash {
		return fail("hash_conflict")
	}
	v.body, v.hash = body, s.newHash()
	s.homePublishes[user]++
	s.storeView(v, p.raw("view"))
	return reply{"ok": true, "view": s.wireView(v)}
}

func (s *Server) reactionsAdd(p params, _ *http.Request) reply {
	if _, ok := s.channels[p.str("channel")]; !ok {
		return fail("channel_not_found")
	}
	m := s.findMessage(p.str("channel"), p.str("timestamp"))
	if m == nil || m.Ephemeral || m.Deleted {
		return fail("message_not_found")
	}
	name := strings.Trim(p.str("name"), ":")
	if name == "" {
		return fail("invalid_name")
	}
	for _, r := range m.Reactions {
		if r == name {
			return fail("already_reacted")
		}
	}
	m.Reactions = append(m.Reactions, name)
	s.notify()
	return reply{"ok": true}
}
