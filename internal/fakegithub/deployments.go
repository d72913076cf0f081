package fakegithub

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DeploymentRecord is a deployment POST /repos/{o}/{r}/deployments created,
// with the statuses POST .../deployments/{id}/statuses added to it, oldest
// first.
type DeploymentRecord struct {
	ID                    int64
	Ref, SHA              string
	Environment           string
	Description           string
	AutoMerge             bool
	RequiredContexts      []string // nil when the request left them out (GitHub then requires every context)
	TransientEnvironment  bool
	ProductionEnvironment bool
	Statuses              []DeploymentStatusRecord
}

// DeploymentStatusRecord is one status of a deployment.
type DeploymentStatusRecord struct {
	State, Description, LogURL, EnvironmentURL string
}

// Deployments returns the deployments created so far, oldest first.
func (s *Server) Deployments() []DeploymentRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]DeploymentRecord, len(s.deployments))
	for i, d := range s.deployments {
		d.RequiredContexts = slices.Clone(d.RequiredContexts)
		d.Statuses = slices.Clone(d.Statuses)
		out[i] = d
	}
	return out
}

// deploymentStates are the states GitHub accepts for a deployment status.
var deploymentStates = []string{"error", "failure", "inactive", "in_progress", "queued", "pending", "success"}

func validationFailed(w http.ResponseWriter, resource, field, code string) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
		"message":           "Validation Failed",
		"errors":            []map[string]string{{"resource": resource, "code": code, "field": field}},
		"documentation_url": docsURL,
	})
}

// deploymentRoute answers POST /repos/{o}/{r}/deployments (arg "") and POST
// /repos/{o}/{r}/deployments/{id}/statuses.
func (s *Server) deploymentRoute(w http.ResponseWriter, r *http.Request, arg string, body []byte) {
	if arg == "" {
		s.createDeployment(w, r, body)
		return
	}
	id, rest, _ := strings.Cut(arg, "/")
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || rest != "statuses" {
		s.strays.Add(r.Method, r.URL.EscapedPath(), r.URL.Path, "")
		notFound(w)
		return
	}
	s.createDeploymentStatus(w, r, n, body)
}

func (s *Server) createDeployment(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		Ref                   string    `json:"ref"`
		Environment           *string   `json:"environment"`
		Description           *string   `json:"description"`
		AutoMerge             *bool     `json:"auto_merge"`
		RequiredContexts      *[]string `json:"required_contexts"`
		TransientEnvironment  bool      `json:"transient_environment"`
		ProductionEnvironment *bool     `json:"production_environment"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "Problems parsing JSON", "documentation_url": docsURL})
		return
	}
	if req.Ref == "" {
		validationFailed(w, "Deployment", "ref", "missing_field")
		return
	}
	s.mu.Lock()
	i, ok := s.resolve(req.Ref)
	if !ok {
		s.mu.Unlock()
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": "No ref found for: " + req.Ref, "documentation_url": docsURL})
		return
	}
	d := DeploymentRecord{
		ID: int64(3000000 + len(s.deployments) + 1), Ref: req.Ref, SHA: s.commits[i].sha, Environment: "production",
		AutoMerge: req.AutoMerge == nil || *req.AutoMerge, TransientEnvironment: req.TransientEnvironment,
	}
	if req.Environment != nil {
		d.Environment = *req.Environment
	}
	if req.Description != nil {
		d.Description = *req.Description
	}
	if req.RequiredContexts != nil {
		d.RequiredContexts = append([]string{}, *req.RequiredContexts...)
	}
	d.ProductionEnvironment = d.Environment == "production"
	if req.ProductionEnvironment != nil {
		d.ProductionEnvironment = *req.ProductionEnvironment
	}
	s.deployments = append(s.deployments, d)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, s.wireDeployment(r, d))
}

func (s *Server) createDeploymentStatus(w http.ResponseWriter, r *http.Request, id int64, body []byte) {
	var req struct {
		State          string  `json:"state"`
		Description    *string `json:"description"`
		LogURL         *string `json:"log_url"`
		EnvironmentURL *string `json:"environment_url"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "Problems parsing JSON", "documentation_url": docsURL})
		return
	}
	if !slices.Contains(deploymentStates, req.State) {
		validationFailed(w, "DeploymentStatus", "state", "invalid")
		return
	}
	st := DeploymentStatusRecord{State: req.State}
	for _, f := range []struct {
		dst *string
		src *string
	}{{&st.Description, req.Description}, {&st.LogURL, req.LogURL}, {&st.EnvironmentURL, req.EnvironmentURL}} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
	s.mu.Lock()
	k := slices.IndexFunc(s.deployments, func(d DeploymentRecord) bool { return d.ID == id })
	if k < 0 {
		s.mu.Unlock()
		notFound(w)
		return
	}
	s.deployments[k].Statuses = append(s.deployments[k].Statuses, st)
	d := s.deployments[k]
	n := len(d.Statuses)
	s.mu.Unlock()

	dep := s.wireDeployment(r, d)
	now := time.Now().UTC().Format(time.RFC3339)
	writeJSON(w, http.StatusCreated, map[string]any{
		"url":             fmt.Sprintf("%s/statuses/%d", dep["url"], n),
		"id":              id*100 + int64(n),
		"node_id":         fmt.Sprintf("DES_fake%d_%d", id, n),
		"state":           st.State,
		"creator":         user("devy-bot"),
		"description":     st.Description,
		"environment":     d.Environment,
		"target_url":      st.LogURL,
		"log_url":         st.LogURL,
		"environment_url": st.EnvironmentURL,
		"created_at":      now,
		"updated_at":      now,
		"deployment_url":  dep["url"],
		"repository_url":  dep["repository_url"],
	})
}

// wireDeployment renders d as GitHub's deployment object.
func (s *Server) wireDeployment(r *http.Request, d DeploymentRecord) map[string]any {
	repoAPI := fmt.Sprintf("%s/repos/%s/%s", apiBase(r), s.owner, s.repo)
	url := fmt.Sprintf("%s/deployments/%d", repoAPI, d.ID)
	now := time.Now().UTC().Format(time.RFC3339)
	return map[string]any{
		"url": url, "id": d.ID, "node_id": fmt.Sprintf("DE_fake%d", d.ID), "sha": d.SHA, "ref": d.Ref,
		"task": "deploy", "payload": map[string]any{}, "original_environment": d.Environment,
		"environment": d.Environment, "description": d.Description, "creator": user("devy-bot"),
		"created_at": now, "updated_at": now, "statuses_url": url + "/statuses", "repository_url": repoAPI,
		"transient_environment": d.TransientEnvironment, "production_environment": d.ProductionEnvironment,
	}
}
