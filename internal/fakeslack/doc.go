// Package fakeslack is a test Slack: the Web API methods Devy calls, the
// response_url endpoint and a Socket Mode websocket, speaking the wire format
// that slack-go v0.35.0 (slack + socketmode) sends and expects.
//
// Wire it up with an httptest server:
//
//	fake := fakeslack.New("xoxb-test", "xapp-test")
//	srv := httptest.NewServer(fake)
//	fake.SetBaseURL(srv.URL)
//	defer srv.Close()
//	defer fake.Close()
//	api := slack.New("xoxb-test",
//		slack.OptionAppLevelToken("xapp-test"),
//		slack.OptionAPIURL(srv.URL+"/api/")) // trailing slash: slack-go concatenates
//
// Routes:
//
//	/api/<method>      Web API (bot token as form field `token` or Authorization: Bearer;
//	                   apps.connections.open takes the app token in Authorization only)
//	/socket?ticket=N   Socket Mode websocket; each ticket from apps.connections.open works once
//	/response/<n>      response_url endpoint handed out in slash commands and block actions
//	/upload/<file id>  upload URL handed out by files.getUploadURLExternal (see File)
//
// Slack answers logical errors with HTTP 200 and {"ok":false,"error":…}; this
// fake does the same and uses non-200 only for injected failures (FailNext,
// RateLimitNext) and for the response_url endpoint, which, like Slack's
// hooks, answers errors with a 4xx status and a plain-text reason.
//
// Delivery of envelopes: Send* never blocks. An envelope goes to the newest
// live connection (one that got its hello and was not told to disconnect),
// or, after SpreadEnvelopes(true), to each live connection in turn, as Slack
// spreads events over an app's connections; when there is none, or the
// write fails, it is queued and delivered, in order, right after the hello
// of the next connection.
//
// Everything observable is recorded (Calls, Messages, Acks, Views) and tests
// wait on it with the Wait* methods, which wake on every change instead of
// sleeping.
//
// A request no route answers (an unknown Web API method, a response_url the
// fake never handed out, any other path) gets Slack's answer and is listed
// by Unmatched; FailOnUnmatched fails the test over it unless the test
// allows it with AllowUnmatched.
package fakeslack
