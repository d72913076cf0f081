package fakegithub

import "github.com/devy-chatops/devy/internal/recorder"

// Call is one request the server received. Its Path is as sent on the
// wire, still escaped (feature%2Fx stays so); Count and FailNext match the
// decoded form too, so callers need not know which one they hold.
type Call = recorder.Call
