package fakeheroku

import "time"

// The JSON shapes below follow the Platform API's schema.json shipped with
// heroku-go v5.5.0: every property the schema lists for the resource, with
// pointers for the ones it marks null-able. Times are RFC3339 in UTC.

type idJSON struct {
	ID string `json:"id"`
}

type idNameJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type userJSON struct {
	Email string `json:"email"`
	ID    string `json:"id"`
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func tsOrNull(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := ts(t)
	return &s
}

func strOrNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func idOrNull(id string) *idJSON {
	if id == "" {
		return nil
	}
	return &idJSON{ID: id}
}

type pipelineJSON struct {
	CreatedAt string `json:"created_at"`
	ID        string `json:"id"`
	Name      string `json:"name"`
	Owner     struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	} `json:"owner"`
	UpdatedAt string `json:"updated_at"`
}

func (s *Server) pipelineJSON(p *pipeline) pipelineJSON {
	out := pipelineJSON{CreatedAt: ts(p.created), ID: p.id, Name: p.name, UpdatedAt: ts(p.created)}
	out.Owner.ID, out.Owner.Type = s.userID(accountEmail), "user"
	return out
}

type couplingJSON struct {
	App       idJSON `json:"app"`
	CreatedAt string `json:"created_at"`
	ID        string `json:"id"`
	Pipeline  idJSON `json:"pipeline"`
	Stage     string `json:"stage"`
	UpdatedAt string `json:"updated_at"`
}

func couplingOf(a *app) couplingJSON {
	return couplingJSON{
		App:       idJSON{ID: a.id},
		CreatedAt: ts(a.created),
		ID:        a.couplingID,
		Pipeline:  idJSON{ID: a.pipelineID},
		Stage:     a.stage,
		UpdatedAt: ts(a.created),
	}
}

type appJSON struct {
	Acm                          bool        `json:"acm"`
	ArchivedAt                   *string     `json:"archived_at"`
	BuildStack                   idNameJSON  `json:"build_stack"`
	BuildpackProvidedDescription *string     `json:"buildpack_provided_description"`
	CreatedAt                    string      `json:"created_at"`
	GitURL                       string      `json:"git_url"`
	ID                           string      `json:"id"`
	InternalRouting              *bool       `json:"internal_routing"`
	Maintenance                  bool        `json:"maintenance"`
	Name                         string      `json:"name"`
	Organization                 *idNameJSON `json:"organization"`
	Owner                        userJSON    `json:"owner"`
	Region                       idNameJSON  `json:"region"`
	ReleasedAt                   *string     `json:"released_at"`
	RepoSize                     *int        `json:"repo_size"`
	SlugSize                     *int        `json:"slug_size"`
	Space                        *idNameJSON `json:"space"`
	Stack                        idNameJSON  `json:"stack"`
	Team                         *idNameJSON `json:"team"`
	UpdatedAt                    string      `json:"updated_at"`
	WebURL                       string      `json:"web_url"`
}

// stackJSON and regionJSON are the stack and region every fake app runs on;
// their ids are fixed because they are global objects on the real platform.
func stackJSON() idNameJSON {
	return idNameJSON{ID: "ba46bf09-7bd1-42fd-90df-a1a9a93eb4a2", Name: "heroku-24"}
}

func regionJSON() idNameJSON {
	return idNameJSON{ID: "59accabd-516d-4f0e-83e6-6e3757701145", Name: "us"}
}

func (s *Server) appJSON(a *app) appJSON {
	out := appJSON{
		BuildStack: stackJSON(),
		CreatedAt:  ts(a.created),
		GitURL:     "https://git.heroku.com/" + a.name + ".git",
		ID:         a.id,
		Name:       a.name,
		Owner:      userJSON{Email: accountEmail, ID: s.userID(accountEmail)},
		Region:     regionJSON(),
		Stack:      stackJSON(),
		UpdatedAt:  ts(a.updated),
		WebURL:     "https://" + a.name + ".herokuapp.com/",
	}
	if r := currentRelease(a); r != nil {
		out.ReleasedAt = tsOrNull(r.created)
	}
	return out
}

type releaseJSON struct {
	AddonPlanNames  []string   `json:"addon_plan_names"`
	App             idNameJSON `json:"app"`
	CreatedAt       string     `json:"created_at"`
	Description     string     `json:"description"`
	Status          string     `json:"status"`
	ID              string     `json:"id"`
	Slug            *idJSON    `json:"slug"`
	UpdatedAt       string     `json:"updated_at"`
	User            userJSON   `json:"user"`
	Version         int        `json:"version"`
	Current         bool       `json:"current"`
	OutputStreamURL *string    `json:"output_stream_url"`
}

func (s *Server) releaseJSON(a *app, r *release) releaseJSON {
	cur := currentRelease(a)
	return releaseJSON{
		AddonPlanNames: []string{},
		App:            idNameJSON{ID: a.id, Name: a.name},
		CreatedAt:      ts(r.created),
		Description:    r.description,
		Status:         r.status,
		ID:             r.id,
		Slug:           idOrNull(r.slugID),
		UpdatedAt:      ts(r.created),
		User:           userJSON{Email: r.userEmail, ID: s.userID(r.userEmail)},
		Version:        r.version,
		Current:        cur != nil && cur.id == r.id,
	}
}

type slugJSON struct {
	Blob struct {
		Method string `json:"method"`
		URL    string `json:"url"`
	} `json:"blob"`
	BuildpackProvidedDescription *string           `json:"buildpack_provided_description"`
	Checksum                     *string           `json:"checksum"`
	Commit                       *string           `json:"commit"`
	CommitDescription            *string           `json:"commit_description"`
	CreatedAt                    string            `json:"created_at"`
	ID                           string            `json:"id"`
	ProcessTypes                 map[string]string `json:"process_types"`
	Size                         *int              `json:"size"`
	Stack                        idNameJSON        `json:"stack"`
	UpdatedAt                    string            `json:"updated_at"`
}

func slugOf(sl *slug) slugJSON {
	size := 52428800
	out := slugJSON{
		BuildpackProvidedDescription: strOrNull("Go"),
		Checksum:                     strOrNull("SHA256:" + sl.id),
		Commit:                       strOrNull(sl.commit),
		CreatedAt:                    ts(sl.created),
		ID:                           sl.id,
		ProcessTypes:                 map[string]string{"web": "./bin/devy"},
		Size:                         &size,
		Stack:                        stackJSON(),
		UpdatedAt:                    ts(sl.created),
	}
	out.Blob.Method, out.Blob.URL = "get", "https://slugs.example.invalid/"+sl.id+".tgz"
	return out
}

type promotionJSON struct {
	CreatedAt string `json:"created_at"`
	ID        string `json:"id"`
	Pipeline  idJSON `json:"pipeline"`
	Source    struct {
		App     idJSON `json:"app"`
		Release idJSON `json:"release"`
	} `json:"source"`
	Status    string  `json:"status"`
	UpdatedAt *string `json:"updated_at"`
}

func promotionOf(p *promotion) promotionJSON {
	out := promotionJSON{
		CreatedAt: ts(p.created),
		ID:        p.id,
		Pipeline:  idJSON{ID: p.pipelineID},
		Status:    p.status,
		UpdatedAt: tsOrNull(p.updated),
	}
	out.Source.App.ID, out.Source.Release.ID = p.sourceAppID, p.releaseID
	return out
}

type targetJSON struct {
	App               idJSON  `json:"app"`
	ErrorMessage      *string `json:"error_message"`
	ID                string  `json:"id"`
	PipelinePromotion idJSON  `json:"pipeline_promotion"`
	Release           *idJSON `json:"release"`
	Status            string  `json:"status"`
}

func targetOf(p *promotion, t *target) targetJSON {
	return targetJSON{
		App:               idJSON{ID: t.appID},
		ErrorMessage:      strOrNull(t.errorMessage),
		ID:                t.id,
		PipelinePromotion: idJSON{ID: p.id},
		Release:           idOrNull(t.releaseID),
		Status:            t.status,
	}
}

type reviewAppJSON struct {
	App         *idJSON `json:"app"`
	AppSetup    *idJSON `json:"app_setup"`
	Branch      string  `json:"branch"`
	CreatedAt   string  `json:"created_at"`
	ID          string  `json:"id"`
	Pipeline    idJSON  `json:"pipeline"`
	Status      string  `json:"status"`
	UpdatedAt   string  `json:"updated_at"`
	Creator     idJSON  `json:"creator"`
	WaitForCI   bool    `json:"wait_for_ci"`
	ErrorStatus *string `json:"error_status"`
	Message     *string `json:"message"`
	ForkRepo    *struct {
		ID int `json:"id"`
	} `json:"fork_repo"`
	PrNumber *int `json:"pr_number"`
}

func (s *Server) reviewAppJSON(ra *reviewApp) reviewAppJSON {
	out := reviewAppJSON{
		App:         idOrNull(ra.appID),
		Branch:      ra.branch,
		CreatedAt:   ts(ra.created),
		ID:          ra.id,
		Pipeline:    idJSON{ID: ra.pipelineID},
		Status:      ra.status,
		UpdatedAt:   ts(ra.updated),
		Creator:     idJSON{ID: s.userID(accountEmail)},
		ErrorStatus: strOrNull(ra.errorStatus),
		Message:     strOrNull(ra.message),
	}
	if ra.pr > 0 {
		pr := ra.pr
		out.PrNumber = &pr
	}
	return out
}
