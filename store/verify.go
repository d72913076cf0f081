package store

import (
	"errors"
	"strings"
	"time"
)

// Verification says that a commit was confirmed on staging (the Etsy step):
// by its author, or vouched for by someone else when the author has no
// Slack user. It is kept per pipeline and commit, so it survives new
// staging releases as long as the commit is still to be promoted.
type Verification struct {
	Pipeline string    `json:"pipeline"`
	SHA      string    `json:"sha"`
	By       string    `json:"by"`                // Slack user whose commit it is, or who vouched for it
	Vouched  bool      `json:"vouched,omitempty"` // the commit's author has no Slack user; By vouched for it
	Actor    string    `json:"actor,omitempty"`   // an admin who verified on By's behalf
	At       time.Time `json:"at"`
}

// CommitOwner is a commit to verify and whose it is: Owner is the author's
// Slack user, "" when the author has none (anyone may vouch for it).
type CommitOwner struct {
	SHA   string
	Owner string
}

// VerifyInput is one verification: user's own commits among Commits, and,
// when Vouch, the commits nobody owns. Actor is who asked (an admin acting
// for User), "" when User asked.
type VerifyInput struct {
	Pipeline string
	User     string
	Actor    string
	Vouch    bool
	Commits  []CommitOwner
}

// Verify marks User's unverified commits among in.Commits verified (and,
// with Vouch, the unowned ones as vouched for by User), in one transaction
// with the pipeline held, so that concurrent clicks from any number of
// processes verify each commit once. It returns what it verified now; none
// when nothing was left for User. Never anyone else's commits.
func (s Rules) Verify(in VerifyInput) ([]Verification, error) {
	if in.Pipeline == "" || in.User == "" {
		return nil, errors.New("store: a verification needs a pipeline and a user")
	}
	var done []Verification
	err := s.b.Update("verify commits", func(tx Tx) error {
		done = nil
		if _, err := tx.Lock(in.Pipeline); err != nil {
			return err
		}
		now := s.now()
		have, err := tx.Verifications(in.Pipeline, shasOf(in.Commits))
		if err != nil {
			return err
		}
		for _, c := range in.Commits {
			if _, ok := have[c.SHA]; ok {
				continue
			}
			mine := c.Owner == in.User
			if !mine && !(c.Owner == "" && in.Vouch) {
				continue
			}
			v := Verification{Pipeline: in.Pipeline, SHA: c.SHA, By: in.User, Vouched: !mine, Actor: in.Actor, At: now}
			if err := tx.PutVerification(v); err != nil {
				return err
			}
			have[c.SHA] = v
			done = append(done, v)
		}
		if len(done) == 0 {
			return nil
		}
		actor := in.User
		detail := map[string]string{"shas": strings.Join(shasOf(commitsOf(done)), ",")}
		if in.Actor != "" && in.Actor != in.User {
			actor = in.Actor
			detail["for"] = in.User
		}
		return tx.AppendAudit(AuditEntry{At: now, Actor: actor, Action: "commits.verified", Subject: "pipeline " + in.Pipeline, Detail: detail})
	})
	return done, err
}

// Verifications returns the pipeline's verifications of shas, by SHA.
func (s Rules) Verifications(pipeline string, shas []string) (map[string]Verification, error) {
	var out map[string]Verification
	err := s.b.View("read verifications", func(tx Tx) (err error) {
		out, err = tx.Verifications(pipeline, shas)
		return err
	})
	return out, err
}

func shasOf(cs []CommitOwner) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.SHA
	}
	return out
}

func commitsOf(vs []Verification) []CommitOwner {
	out := make([]CommitOwner, len(vs))
	for i, v := range vs {
		out[i] = CommitOwner{SHA: v.SHA, Owner: v.By}
	}
	return out
}

// Override is an admin's decision to approve a request whose commits are
// not all verified on staging.
type Override struct {
	By         string    `json:"by"`
	Reason     string    `json:"reason"`
	At         time.Time `json:"at"`
	Unverified []string  `json:"unverified,omitempty"` // who was left, as shown
}

// OverrideVerification records on pending request id that admin by approves
// it despite its unverified commits, and why, with an audit entry.
func (s Rules) OverrideVerification(id uint64, by, reason string, unverified []string) (PromotionRequest, error) {
	return s.change("record the override of verification", id, func(tx Tx, r *PromotionRequest, now time.Time) error {
		if err := r.Decidable(now); err != nil {
			return err
		}
		r.Override = &Override{By: by, Reason: reason, At: now, Unverified: unverified}
		return tx.AppendAudit(AuditEntry{At: now, Actor: by, Action: "promotion.verification_overridden", Subject: r.Subject(),
			Detail: map[string]string{"reason": reason, "unverified": strings.Join(unverified, ", ")}})
	})
}
