package fakeslack

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// File is a file shared through Slack's upload flow (api-facts 9):
// files.getUploadURLExternal hands out an upload URL and a file id, the
// client POSTs the bytes there, and files.completeUploadExternal shares it.
// Only completed files are listed by Files; an upload never completed is
// aborted, as in Slack.
type File struct {
	ID       string
	Name     string // filename given to files.getUploadURLExternal
	Title    string // from files.completeUploadExternal
	Channel  string
	ThreadTS string
	Data     []byte
}

// upload is a file between files.getUploadURLExternal and its completion.
type upload struct {
	file     File
	length   int
	received bool
}

// Files returns the files shared so far, in order.
func (s *Server) Files() []File {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]File, len(s.files))
	for i, f := range s.files {
		out[i] = f
		out[i].Data = append([]byte(nil), f.Data...)
	}
	return out
}

func (s *Server) filesGetUploadURLExternal(p params, _ *http.Request) reply {
	name := p.str("filename")
	length, err := strconv.Atoi(p.str("length"))
	if name == "" || err != nil || length <= 0 {
		return fail("invalid_arguments")
	}
	id := s.nextID("F")
	s.uploads[id] = &upload{file: File{ID: id, Name: name}, length: length}
	// On the fake's own host: slack-go sends the token only to Slack's
	// domains or to the API URL's scheme and host (api-facts trap 26).
	return reply{"ok": true, "upload_url": s.baseURL + "/upload/" + id, "file_id": id}
}

// serveUpload is the upload URL: a multipart POST with the bytes in field
// "file", answered 200 "OK - <length>" as Slack's file servers do.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/upload/")
	s.mu.Lock()
	u := s.uploads[id]
	s.mu.Unlock()
	if u == nil || r.Method != http.MethodPost {
		s.strays.Add(r.Method, r.URL.EscapedPath(), r.URL.Path, "unknown upload")
		http.NotFound(w, r)
		return
	}
	f, _, err := r.FormFile("file")
	if err != nil {
		http.Error(w, "no file field", http.StatusBadRequest)
		return
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		http.Error(w, "read failed", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	u.file.Data, u.received = data, true
	s.mu.Unlock()
	_, _ = io.WriteString(w, "OK - "+strconv.Itoa(len(data)))
}

func (s *Server) filesCompleteUploadExternal(p params, _ *http.Request) reply {
	var files []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal([]byte(p.str("files")), &files); err != nil || len(files) == 0 {
		return fail("invalid_arguments")
	}
	channel := p.str("channel_id")
	if channel != "" {
		c, code := s.resolveChannel(channel)
		if code == "" {
			code = canPost(c)
		}
		if code != "" {
			return fail(code)
		}
		channel = c.ID
	}
	var done []any
	for _, f := range files {
		u := s.uploads[f.ID]
		if u == nil || !u.received {
			return fail("file_not_found")
		}
		if len(u.file.Data) != u.length {
			return fail("file_size_mismatch")
		}
		u.file.Title, u.file.Channel, u.file.ThreadTS = f.Title, channel, p.str("thread_ts")
		s.files = append(s.files, u.file)
		delete(s.uploads, f.ID)
		done = append(done, map[string]any{"id": f.ID, "title": f.Title})
	}
	s.notify()
	return reply{"ok": true, "files": done}
}
