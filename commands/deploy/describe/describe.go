// Package describe has the sentences /deploy says about a promotion request
// and the lock wherever they appear: the request message's state, /deploy
// status and the App Home, history, refusals and the thread report. Each is
// written once here, from plain values, so that every place says the same.
package describe

import (
	"fmt"
	"strings"
	"time"

	"github.com/devy-chatops/devy/commands/deploy/pipeline"
	"github.com/devy-chatops/devy/commands/format"
	"github.com/devy-chatops/devy/store"
)

// Lock says who or what holds lock l, since when and until when.
func Lock(l store.Lock) string {
	if l.RequestID != 0 {
		return fmt.Sprintf("Production is locked by the running promotion of request #%d (since %s).", l.RequestID, format.Stamp(l.Since))
	}
	s := fmt.Sprintf("Production is locked by <@%s> since %s", l.Holder, format.Stamp(l.Since))
	if l.Reason != "" {
		s += fmt.Sprintf(" (“%s”)", l.Reason)
	}
	if !l.Until.IsZero() {
		s += " until " + format.Stamp(l.Until)
	}
	return s + "."
}

// LockLine is the status's line on the lock; l is nil when production is
// not locked.
func LockLine(l *store.Lock) string {
	if l == nil {
		return "🔓 Production is not locked."
	}
	return "🔒 " + Lock(*l)
}

// Open is the line on request r, pending or being promoted, at now.
func Open(r store.PromotionRequest, now time.Time) string {
	if r.Status == store.StatusPromoting {
		return fmt.Sprintf("Request #%d (v%d) is being promoted now, approved by <@%s>.", r.ID, r.ReleaseVersion, r.DecidedBy)
	}
	return fmt.Sprintf("Request #%d by <@%s> (v%d) waits for approval; it expires %s.", r.ID, r.RequestedBy, r.ReleaseVersion, format.Until(now, r.ExpiresAt))
}

// Release is an app's release as the status shows it at now; commit shows a
// SHA.
func Release(ar pipeline.AppRelease, commit func(sha string) string, now time.Time) string {
	r := ar.Release
	who := r.UserEmail
	if who == "" {
		who = "unknown"
	}
	return fmt.Sprintf("*%s*\nv%d · %s · by %s · %s", ar.App.Name, r.Version, commit(r.Commit), who, format.Ago(now, r.CreatedAt))
}

// Approvers names the approvers (user ids, or user group ids starting with
// S), for refusals.
func Approvers(ids []string) string {
	var who []string
	for _, id := range ids {
		if strings.HasPrefix(id, "S") {
			who = append(who, "<!subteam^"+id+">")
		} else {
			who = append(who, "<@"+id+">")
		}
	}
	return strings.Join(who, ", ")
}

// CI is the request's CI state, linked to its run, with the admin's reason
// when the check was skipped.
func CI(r store.PromotionRequest) string {
	s := r.CIState
	if s == "" {
		s = "unknown"
	}
	if r.CIURL != "" {
		s = format.Link(r.CIURL, s)
	}
	if r.SkipCIReason != "" {
		s += fmt.Sprintf(" — check skipped by an admin: “%s”", r.SkipCIReason)
	}
	return s
}

// TargetNames lists the production apps request r promotes to.
func TargetNames(r store.PromotionRequest) string {
	var names []string
	for _, t := range r.Targets {
		names = append(names, t.AppName)
	}
	return strings.Join(names, ", ")
}

// State is the request message's section on where request r stands.
func State(r store.PromotionRequest) string {
	switch r.Status {
	case store.StatusPending:
		return fmt.Sprintf("⏳ Waiting for someone other than <@%s> to approve; this request expires at %s.", r.RequestedBy, format.Stamp(r.ExpiresAt))
	case store.StatusPromoting:
		return fmt.Sprintf("✅ Approved by <@%s> at %s — promoting…\n%s", r.DecidedBy, format.Stamp(r.DecidedAt), targetStates(r))
	case store.StatusSucceeded:
		return fmt.Sprintf("🚀 Promoted to production, approved by <@%s>.\n%s", r.DecidedBy, targetStates(r))
	case store.StatusFailed:
		s := fmt.Sprintf("❌ The promotion failed (approved by <@%s>).\n%s", r.DecidedBy, targetStates(r))
		if r.Note != "" {
			s += "\n" + r.Note
		}
		return s
	case store.StatusUnknown:
		return fmt.Sprintf("⚠️ I lost track of this promotion (approved by <@%s>). %s", r.DecidedBy, r.Note)
	case store.StatusRejected:
		return fmt.Sprintf("✋ Rejected by <@%s> at %s.", r.DecidedBy, format.Stamp(r.DecidedAt))
	case store.StatusCancelled:
		if r.Note != "" {
			return "Withdrawn: " + r.Note + "."
		}
		return fmt.Sprintf("Withdrawn by <@%s> at %s.", r.RequestedBy, format.Stamp(r.FinishedAt))
	case store.StatusExpired:
		if r.Note != "" {
			return "⌛ " + r.Note
		}
		return fmt.Sprintf("⌛ Expired at %s without a decision; run `/deploy promote` again.", format.Stamp(r.ExpiresAt))
	}
	return r.Status
}

// targetStates is a line per production app: how its promotion went, with
// Heroku's error.
func targetStates(r store.PromotionRequest) string {
	var lines []string
	for _, t := range r.Targets {
		icon := map[string]string{"succeeded": "✅", "failed": "❌", "pending": "⏳", "": "⏳"}[t.Status]
		if icon == "" {
			icon = "•"
		}
		status := t.Status
		if status == "" {
			status = "pending"
		}
		line := fmt.Sprintf("%s *%s*: %s", icon, t.AppName, status)
		if t.Error != "" {
			line += " — Heroku says: " + format.Escape(t.Error)
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// Ended is /deploy history's line on ended request r: when it ended, what,
// who asked, who decided and how it ended; commit shows a SHA.
func Ended(r store.PromotionRequest, commit func(sha string) string) string {
	rng := commit(r.BaseSHA) + "…" + commit(r.SHA)
	if r.CompareURL != "" {
		rng = format.Link(r.CompareURL, format.Short(r.BaseSHA)+"…"+format.Short(r.SHA))
	}
	at := r.FinishedAt
	if at.IsZero() { // expired before Devy recorded when
		at = r.ExpiresAt
	}
	var icon, decided, outcome string
	switch r.Status {
	case store.StatusRejected:
		icon, decided, outcome = "✋", fmt.Sprintf(", rejected by <@%s>", r.DecidedBy), "rejected"
	case store.StatusCancelled:
		icon, outcome = "↩️", "withdrawn"
		if r.Note != "" {
			outcome += " (" + format.Escape(r.Note) + ")"
		}
	case store.StatusExpired:
		icon, outcome = "⌛", "expired without a decision"
		if r.Note != "" {
			outcome = "expired (" + format.Escape(strings.TrimSuffix(r.Note, ".")) + ")"
		}
	default:
		icon = map[string]string{store.StatusSucceeded: "✅", store.StatusFailed: "❌", store.StatusUnknown: "⚠️"}[r.Status]
		decided, outcome = fmt.Sprintf(", approved by <@%s>", r.DecidedBy), r.Status
	}
	return fmt.Sprintf("%s %s — %s v%d %s, requested by <@%s>%s: %s",
		icon, format.Stamp(at), format.Escape(r.StagingAppName), r.ReleaseVersion, rng, r.RequestedBy, decided, outcome)
}

// Report tells the requester, in the request's thread, how request r
// ended; ttl is how long a request stays open. ok is false for a request
// that has not ended or ended without a report (withdrawn).
func Report(r store.PromotionRequest, ttl time.Duration) (text string, ok bool) {
	var words string
	switch r.Status {
	case store.StatusSucceeded:
		words = "🚀 is live on " + TargetNames(r)
	case store.StatusFailed:
		words = "❌ failed; the message above shows Heroku's error for each app"
	case store.StatusUnknown:
		words = "⚠️ ended in a state I can't confirm; see the message above"
	case store.StatusRejected:
		words = fmt.Sprintf("✋ was rejected by <@%s>; nothing was promoted", r.DecidedBy)
	case store.StatusExpired:
		words = fmt.Sprintf("⌛ expired after %s without a decision; run `/deploy promote` for a fresh one", ttl)
		if r.Note != "" {
			words = "⌛ expired: " + strings.TrimSuffix(r.Note, ".")
		}
	default:
		return "", false
	}
	return fmt.Sprintf("<@%s> your promotion #%d (%s v%d) %s.", r.RequestedBy, r.ID, r.StagingAppName, r.ReleaseVersion, words), true
}
