package fakeslack

import (
	"encoding/json"
	"fmt"
	"time"
)

// OpenHome is user opening the app's Home tab: an app_home_opened event
// (api-facts 9), with the view published before, if any.
func (s *Server) OpenHome(user string) string {
	s.mu.Lock()
	s.ensureUser(user, "")
	ev := map[string]any{"type": "app_home_opened", "user": user, "channel": "D" + user[1:], "tab": "home",
		"event_ts": fmt.Sprintf("%d.000100", time.Now().Unix())}
	if v := s.viewsByID[s.homeViews[user]]; v != nil {
		ev["view"] = s.wireView(v)
	}
	s.mu.Unlock()
	raw, _ := json.Marshal(ev)
	return s.SendEvent(raw, "")
}

// HomeView returns the view last published to user's Home tab, as the app
// sent it, and how many times it was published.
func (s *Server) HomeView(user string) (json.RawMessage, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.viewsByID[s.homeViews[user]]
	if v == nil {
		return nil, 0
	}
	raw, _ := json.Marshal(v.body)
	return raw, s.homePublishes[user]
}

// ClickHomeButton is user clicking the element actionID on their Home tab:
// a block_actions envelope from a view, with no channel and no
// response_url, as Slack sends for Home tabs.
func (s *Server) ClickHomeButton(user, actionID string) (string, error) {
	s.mu.Lock()
	v := s.viewsByID[s.homeViews[user]]
	if v == nil {
		s.mu.Unlock()
		return "", fmt.Errorf("fakeslack: %s has no Home view", user)
	}
	el, ok := findElement(v.body["blocks"], actionID)
	if !ok {
		s.mu.Unlock()
		return "", fmt.Errorf("fakeslack: %s's Home has no element with action_id %q", user, actionID)
	}
	u := s.ensureUser(user, "")
	now := time.Now()
	payload := map[string]any{
		"type": "block_actions", "api_app_id": AppID, "token": VerificationToken, "trigger_id": s.newTriggerID(),
		"user":      map[string]any{"id": u.ID, "username": u.Name, "name": u.Name, "team_id": TeamID},
		"container": map[string]any{"type": "view", "view_id": v.id},
		"team":      map[string]any{"id": TeamID, "domain": TeamDomain},
		"view":      s.wireView(v),
		"actions": []any{map[string]any{
			"action_id": actionID, "block_id": el.blockID, "type": el.typ, "value": el.value,
			"action_ts": fmt.Sprintf("%d.%06d", now.Unix(), now.Nanosecond()/1000),
			"text":      map[string]any{"type": "plain_text", "text": el.text, "emoji": true},
		}},
	}
	s.mu.Unlock()
	return s.sendEnvelope("interactive", payload, false), nil
}
