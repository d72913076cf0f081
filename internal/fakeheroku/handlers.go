package fakeheroku

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

func (s *Server) getPipeline(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.findPipeline(r.PathValue("pipeline"), true)
	if p == nil {
		notFound(w, "pipeline")
		return
	}
	writeJSON(w, http.StatusOK, s.pipelineJSON(p))
}

// listCouplings answers GET /pipelines/{id}/pipeline-couplings. The schema
// takes a pipeline id here, not a name, so a name is not found.
func (s *Server) listCouplings(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.findPipeline(r.PathValue("pipeline"), false)
	if p == nil {
		notFound(w, "pipeline")
		return
	}
	out := []couplingJSON{}
	for _, a := range s.appsOf(p.id) {
		out = append(out, couplingOf(a))
	}
	writeJSON(w, http.StatusOK, out)
}

// appsOf returns the apps coupled to a pipeline in creation order; s.mu held.
func (s *Server) appsOf(pipelineID string) []*app {
	var out []*app
	for _, a := range s.apps {
		if a.pipelineID == pipelineID {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func (s *Server) getApp(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.findApp(r.PathValue("app"))
	if a == nil {
		notFound(w, "app")
		return
	}
	writeJSON(w, http.StatusOK, s.appJSON(a))
}

// listReleases answers GET /apps/{app}/releases, honouring the parts of the
// Range header heroku-go sends ("version ..; max=10,order=desc"): the sort
// order, the page size and a start bound (with "]" meaning exclusive, as in
// Next-Range). A truncated page is 206 with Next-Range, a full one 200.
func (s *Server) listReleases(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.findApp(r.PathValue("app"))
	if a == nil {
		notFound(w, "app")
		return
	}
	rg, bad := parseRange(r.Header.Get("Range"))
	if bad != "" {
		writeError(w, http.StatusBadRequest, "bad_request", bad)
		return
	}
	list := append([]*release(nil), a.releases...)
	if rg.desc {
		sort.Slice(list, func(i, j int) bool { return list[i].version > list[j].version })
	}
	if rg.first != "" {
		list = afterBound(list, rg)
	}
	status := http.StatusOK
	if len(list) > rg.max {
		list = list[:rg.max]
		status = http.StatusPartialContent
		next := fmt.Sprintf("version ]%d..; max=%d", list[len(list)-1].version, rg.max)
		if rg.desc {
			next += ", order=desc"
		}
		w.Header().Set("Next-Range", next)
	}
	if len(list) > 0 {
		w.Header().Set("Content-Range", fmt.Sprintf("version %d..%d", list[0].version, list[len(list)-1].version))
	}
	w.Header().Set("Accept-Ranges", "id, version")
	out := make([]releaseJSON, 0, len(list))
	for _, rel := range list {
		out = append(out, s.releaseJSON(a, rel))
	}
	writeJSON(w, status, out)
}

// listRange is the part of a Range header the fake understands.
type listRange struct {
	first     string // start bound; "" for none
	exclusive bool   // the bound was written "]first"
	max       int
	desc      bool
}

// parseRange reads "<field> <first>..<last>; max=N, order=desc". Only
// version (or id, which orders the same here) ranges are accepted; bad is
// the API's message for a header it refuses.
func parseRange(h string) (rg listRange, bad string) {
	rg = listRange{max: 200}
	if strings.TrimSpace(h) == "" {
		return rg, ""
	}
	head, params, _ := strings.Cut(h, ";")
	field, bounds, ok := strings.Cut(strings.TrimSpace(head), " ")
	if !ok {
		field, bounds = "", field
	}
	if field != "" && field != "version" && field != "id" {
		return rg, fmt.Sprintf("Range field %q is not one of version, id.", field)
	}
	first, _, _ := strings.Cut(bounds, "..")
	first = strings.TrimSpace(first)
	if strings.HasPrefix(first, "]") {
		rg.exclusive, first = true, first[1:]
	}
	rg.first = first
	for _, p := range strings.FieldsFunc(params, func(r rune) bool { return r == ',' || r == ';' }) {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch k {
		case "max":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return rg, fmt.Sprintf("Range max %q is not a positive number.", v)
			}
			rg.max = min(n, 1000)
		case "order":
			rg.desc = v == "desc"
		}
	}
	return rg, ""
}

// afterBound drops the releases before the range's start (by version, in
// the list's order).
func afterBound(list []*release, rg listRange) []*release {
	bound, err := strconv.Atoi(rg.first)
	if err != nil {
		return list // an id bound: ids are not ordered here, so ignore it
	}
	var out []*release
	for _, r := range list {
		before := r.version < bound
		if rg.desc {
			before = r.version > bound
		}
		if before || rg.exclusive && r.version == bound {
			continue
		}
		out = append(out, r)
	}
	return out
}

// getRelease answers GET /apps/{app}/releases/{id_or_version}.
func (s *Server) getRelease(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.findApp(r.PathValue("app"))
	if a == nil {
		notFound(w, "app")
		return
	}
	key := r.PathValue("release")
	for _, rel := range a.releases {
		if rel.id == key || strconv.Itoa(rel.version) == key {
			writeJSON(w, http.StatusOK, s.releaseJSON(a, rel))
			return
		}
	}
	notFound(w, "release")
}

// getSlug answers GET /apps/{app}/slugs/{id}; the slug must be released on
// that app (a promoted slug is shared by the apps it ran on).
func (s *Server) getSlug(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.findApp(r.PathValue("app"))
	if a == nil {
		notFound(w, "app")
		return
	}
	id := r.PathValue("slug")
	for _, rel := range a.releases {
		if rel.slugID == id {
			writeJSON(w, http.StatusOK, slugOf(s.slugs[id]))
			return
		}
	}
	notFound(w, "slug")
}

func (s *Server) getConfigVars(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.findApp(r.PathValue("app"))
	if a == nil {
		notFound(w, "app")
		return
	}
	out := make(map[string]string, len(a.config))
	for k, v := range a.config {
		out[k] = v
	}
	writeJSON(w, http.StatusOK, out)
}

// idBody is an {"id": …} object in a request; a pointer to it tells absent
// from present.
type idBody struct {
	ID string `json:"id"`
}

type promotionBody struct {
	Pipeline *idBody `json:"pipeline"`
	Source   *struct {
		App     *idBody `json:"app"`
		Release *idBody `json:"release"`
	} `json:"source"`
	Targets *[]struct {
		App *idBody `json:"app"`
	} `json:"targets"`
}

// createPromotion answers POST /pipeline-promotions. Required: pipeline,
// source and targets; source.release.id, when given, must be a release of
// the source app and is what gets promoted, else the current release is.
func (s *Server) createPromotion(w http.ResponseWriter, r *http.Request) {
	var raw []byte
	var body promotionBody
	if !decodeBody(w, r, &body, &raw) {
		return
	}
	if body.Pipeline == nil || body.Pipeline.ID == "" {
		invalidParams(w, "Missing required params: pipeline.")
		return
	}
	if body.Source == nil || body.Source.App == nil || body.Source.App.ID == "" {
		invalidParams(w, "Missing required params: source.")
		return
	}
	if body.Targets == nil || len(*body.Targets) == 0 {
		invalidParams(w, "Missing required params: targets.")
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pipelines[body.Pipeline.ID]
	if p == nil {
		notFound(w, "pipeline")
		return
	}
	src := s.apps[body.Source.App.ID]
	if src == nil {
		notFound(w, "app")
		return
	}
	if src.pipelineID != p.id {
		invalidParams(w, "Source app %s is not in pipeline %s.", src.name, p.name)
		return
	}
	var targetApps []*app
	for _, t := range *body.Targets {
		if t.App == nil || t.App.ID == "" {
			invalidParams(w, "Missing required params: targets.app.id.")
			return
		}
		ta := s.apps[t.App.ID]
		if ta == nil {
			notFound(w, "app")
			return
		}
		if ta.pipelineID != p.id || ta.id == src.id {
			invalidParams(w, "Target app %s must be another app of pipeline %s.", ta.name, p.name)
			return
		}
		targetApps = append(targetApps, ta)
	}
	var rel *release
	var askedRelease string
	if body.Source.Release != nil {
		askedRelease = body.Source.Release.ID
		for _, cand := range src.releases {
			if cand.id == askedRelease {
				rel = cand
			}
		}
		if rel == nil {
			invalidParams(w, "Release %s is not a release of the source app %s.", askedRelease, src.name)
			return
		}
	} else {
		rel = currentRelease(src)
	}
	if rel == nil || rel.slugID == "" {
		invalidParams(w, "Source app %s has no slug to promote.", src.name)
		return
	}

	created := s.now()
	pr := &promotion{
		id:           s.newID(),
		pipelineID:   p.id,
		sourceAppID:  src.id,
		releaseID:    rel.id,
		status:       "pending",
		created:      created,
		resolveAt:    created.Add(s.promotionDelay),
		sourceName:   src.name,
		sourceVer:    rel.version,
		sourceSlugID: rel.slugID,
	}
	rec := PromotionRecord{
		ID:              pr.id,
		Body:            raw,
		PipelineID:      body.Pipeline.ID,
		SourceAppID:     body.Source.App.ID,
		SourceReleaseID: askedRelease,
		PromotedRelease: rel.id,
	}
	for _, ta := range targetApps {
		t := &target{id: s.newID(), appID: ta.id, status: "pending"}
		pr.targets = append(pr.targets, t)
		rec.TargetAppIDs = append(rec.TargetAppIDs, ta.id)
		rec.TargetIDs = append(rec.TargetIDs, t.id)
	}
	s.promotions[pr.id] = pr
	s.promotionLog = append(s.promotionLog, rec)
	writeJSON(w, http.StatusCreated, promotionOf(pr))
}

func (s *Server) getPromotion(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.promotions[r.PathValue("promotion")]
	if p == nil {
		notFound(w, "pipeline promotion")
		return
	}
	writeJSON(w, http.StatusOK, promotionOf(p))
}

func (s *Server) listPromotionTargets(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.promotions[r.PathValue("promotion")]
	if p == nil {
		notFound(w, "pipeline promotion")
		return
	}
	out := make([]targetJSON, 0, len(p.targets))
	for _, t := range p.targets {
		out = append(out, targetOf(p, t))
	}
	writeJSON(w, http.StatusOK, out)
}

type reviewAppBody struct {
	Branch     *string `json:"branch"`
	Pipeline   *string `json:"pipeline"`
	SourceBlob *struct {
		URL     *string `json:"url"`
		Version *string `json:"version"`
	} `json:"source_blob"`
	PrNumber    *int               `json:"pr_number"`
	Environment map[string]*string `json:"environment"`
	ForkRepoID  *int               `json:"fork_repo_id"`
}

// createReviewApp answers POST /review-apps (required: branch, pipeline id,
// source_blob with a url).
func (s *Server) createReviewApp(w http.ResponseWriter, r *http.Request) {
	var raw []byte
	var body reviewAppBody
	if !decodeBody(w, r, &body, &raw) {
		return
	}
	switch {
	case body.Branch == nil || *body.Branch == "":
		invalidParams(w, "Missing required params: branch.")
		return
	case body.Pipeline == nil || *body.Pipeline == "":
		invalidParams(w, "Missing required params: pipeline.")
		return
	case body.SourceBlob == nil || body.SourceBlob.URL == nil || *body.SourceBlob.URL == "":
		invalidParams(w, "Missing required params: source_blob.url.")
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pipelines[*body.Pipeline]
	if p == nil {
		notFound(w, "pipeline")
		return
	}
	created := s.now()
	ra := &reviewApp{
		id:         s.newID(),
		pipelineID: p.id,
		branch:     *body.Branch,
		status:     "pending",
		failWith:   s.reviewFails[*body.Branch].use(),
		created:    created,
		updated:    created,
		readyAt:    created.Add(s.reviewDelay),
		halfway:    created.Add(s.reviewDelay / 2),
	}
	if body.PrNumber != nil {
		ra.pr = *body.PrNumber
	}
	if body.SourceBlob.Version != nil {
		ra.version = *body.SourceBlob.Version
	}
	s.reviewApps[ra.id] = ra
	s.reviewOrder = append(s.reviewOrder, ra.id)
	writeJSON(w, http.StatusCreated, s.reviewAppJSON(ra))
}

func (s *Server) getReviewApp(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ra := s.reviewApps[r.PathValue("reviewapp")]
	if ra == nil {
		notFound(w, "review app")
		return
	}
	writeJSON(w, http.StatusOK, s.reviewAppJSON(ra))
}

// listReviewApps answers GET /pipelines/{id}/review-apps (id only), leaving
// out deleted review apps.
func (s *Server) listReviewApps(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.findPipeline(r.PathValue("pipeline"), false)
	if p == nil {
		notFound(w, "pipeline")
		return
	}
	out := []reviewAppJSON{}
	for _, id := range s.reviewOrder {
		ra := s.reviewApps[id]
		if ra.pipelineID == p.id && ra.status != "deleted" {
			out = append(out, s.reviewAppJSON(ra))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// deleteReviewApp answers DELETE /review-apps/{id}: the app goes away now,
// the review app reads "deleting" in the answer and "deleted" afterwards.
func (s *Server) deleteReviewApp(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ra := s.reviewApps[r.PathValue("reviewapp")]
	if ra == nil || ra.status == "deleted" {
		notFound(w, "review app")
		return
	}
	if ra.appID != "" {
		delete(s.apps, ra.appID)
	}
	ra.status, ra.updated = "deleting", s.now()
	writeJSON(w, http.StatusOK, s.reviewAppJSON(ra))
}

// getReviewAppByApp answers GET /apps/{app}/review-app.
func (s *Server) getReviewAppByApp(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.findApp(r.PathValue("app"))
	if a == nil {
		notFound(w, "app")
		return
	}
	for _, id := range s.reviewOrder {
		if ra := s.reviewApps[id]; ra.appID == a.id {
			writeJSON(w, http.StatusOK, s.reviewAppJSON(ra))
			return
		}
	}
	notFound(w, "review app")
}

// decodeBody reads a JSON request body into v (keeping the raw bytes),
// answering 400 as the API does when it is not JSON.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, raw *[]byte) bool {
	b, err := io.ReadAll(r.Body)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "Request body is not valid JSON.")
		return false
	}
	*raw = b
	return true
}
