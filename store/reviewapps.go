package store

import (
	"strconv"
	"time"
)

// Review app statuses as Heroku names them; Devy stores the last one it saw.
const (
	ReviewPending  = "pending"
	ReviewCreating = "creating"
	ReviewCreated  = "created"
	ReviewErrored  = "errored"
	ReviewDeleting = "deleting"
	ReviewDeleted  = "deleted"
)

// MessageRef is a message Devy posted and keeps up to date.
type MessageRef struct {
	Channel  string `json:"channel"`
	TS       string `json:"ts"`
	ThreadTS string `json:"thread_ts,omitempty"` // the thread it sits in, if any
}

// ReviewApp is what Devy remembers of a review app it was asked to create:
// the pull request it shows, who asked and where, and the messages that show
// its progress, so that any later step (the build ending, a status check,
// a deletion) can redraw them from this record alone.
type ReviewApp struct {
	PR          int    `json:"pr"`
	ID          string `json:"id"`       // Heroku's review app id
	Pipeline    string `json:"pipeline"` // pipeline id
	Branch      string `json:"branch"`
	SHA         string `json:"sha"`
	Title       string `json:"title"`
	PRURL       string `json:"pr_url"`
	AuthorLogin string `json:"author_login"`
	CI          string `json:"ci,omitempty"` // the CI state of the head commit, as shown

	RequestedBy string       `json:"requested_by"` // Slack user id
	Channel     string       `json:"channel"`      // where it was asked
	ThreadTS    string       `json:"thread_ts,omitempty"`
	Messages    []MessageRef `json:"messages,omitempty"`

	Status    string    `json:"status"`
	AppName   string    `json:"app_name,omitempty"`
	WebURL    string    `json:"web_url,omitempty"`
	Message   string    `json:"message,omitempty"`    // Heroku's error, when errored
	GaveUpAt  time.Time `json:"gave_up_at,omitempty"` // when Devy stopped following a build that took too long
	DeletedBy string    `json:"deleted_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Subject names the review app in the audit log.
func (r ReviewApp) Subject() string { return "PR #" + strconv.Itoa(r.PR) }

// Thread is a Slack thread: the channel and the ts of its first message.
type Thread struct {
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}
