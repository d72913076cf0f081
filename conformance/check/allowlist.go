package check

import (
	"regexp"
	"slices"
)

// What Devy may use that is newer than the vendor material. The specs are
// snapshots (Slack's OpenAPI spec stopped in September 2021, heroku-go's
// schema.json in September 2022); each entry says where the newer API is
// published. Nothing else passes a check unless the spec has it.

// HerokuAllow is a Platform API request the 2022 hyper-schema predates.
type HerokuAllow struct {
	Method string
	Path   *regexp.Regexp // matched against the escaped path
	Source string
}

// HerokuAllowed lists the Heroku requests newer than schema.json.
var HerokuAllowed = []HerokuAllow{
	{
		Method: "GET",
		Path:   regexp.MustCompile(`^/apps/[^/]+/oci-images/[^/]+$`),
		// Fir-generation apps (9 Dec 2024) build OCI images, not slugs:
		// https://devcenter.heroku.com/changelog-items/3075 and the oci-image
		// resource of heroku-go v6's schema.json (api-facts.md §11).
		Source: "devcenter.heroku.com/changelog-items/3075 (oci-image resource, Fir generation)",
	},
}

// herokuAllowedProperties are body properties newer than schema.json, by
// link ("METHOD href") and place in the body.
var herokuAllowedProperties = map[string][]string{
	// source.release.id pins the release a promotion ships, "available
	// since September 2025": https://devcenter.heroku.com/changelog-items/3408
	// (api-facts.md §3.4; product.md, Guarantees).
	"POST /pipeline-promotions": {"body.source.release"},
}

// HerokuAllowedProperty reports whether a body property outside the schema
// is one the allowlist names.
func HerokuAllowedProperty(link, where string) bool {
	return slices.Contains(herokuAllowedProperties[link], where)
}

// SlackAllow is a Web API method or argument newer than the OpenAPI spec.
type SlackAllow struct {
	Method string
	Args   []string // for a method in the spec: arguments it lacks; nil for a whole method
	// Required arguments of a method missing from the spec, from its
	// documentation page.
	Required []string
	Source   string
}

// SlackAllowed lists the Slack methods and arguments newer than
// slack_web_openapi_v2.json (last changed 2021-09-07).
var SlackAllowed = []SlackAllow{
	{
		Method: "apps.connections.open",
		// Socket Mode's connection URL; takes the app-level token in the
		// Authorization header and no arguments.
		Source: "https://api.slack.com/methods/apps.connections.open (api-facts.md §1.1)",
	},
	{
		Method:   "files.getUploadURLExternal",
		Required: []string{"filename", "length"},
		// The upload flow that replaced files.upload (sunset 12 Nov 2025).
		Source: "https://docs.slack.dev/changelog/2024-04-a-better-way-to-upload-files-is-here-to-stay (api-facts.md §9)",
	},
	{
		Method:   "files.completeUploadExternal",
		Required: []string{"files"},
		Source:   "https://docs.slack.dev/changelog/2024-04-a-better-way-to-upload-files-is-here-to-stay (api-facts.md §9)",
	},
}

// slackAllow returns the allowlist entry of a method, if any.
func slackAllow(method string) (SlackAllow, bool) {
	for _, a := range SlackAllowed {
		if a.Method == method {
			return a, true
		}
	}
	return SlackAllow{}, false
}
