package fakegithub

// The types below mirror GitHub's REST JSON (field names as go-github v60
// decodes them). Fields GitHub sends as null are pointers without
// omitempty, so the fake sends null where GitHub does.

type wireUser struct {
	Login     string `json:"login"`
	ID        int64  `json:"id"`
	NodeID    string `json:"node_id"`
	AvatarURL string `json:"avatar_url"`
	URL       string `json:"url"`
	HTMLURL   string `json:"html_url"`
	Type      string `json:"type"`
	SiteAdmin bool   `json:"site_admin"`
}

type wireGitActor struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Date  string `json:"date"`
}

type wireRef struct {
	SHA     string `json:"sha"`
	URL     string `json:"url"`
	HTMLURL string `json:"html_url,omitempty"`
}

type wireVerification struct {
	Verified  bool    `json:"verified"`
	Reason    string  `json:"reason"`
	Signature *string `json:"signature"`
	Payload   *string `json:"payload"`
}

type wireGitCommit struct {
	Author       wireGitActor     `json:"author"`
	Committer    wireGitActor     `json:"committer"`
	Message      string           `json:"message"`
	Tree         wireRef          `json:"tree"`
	URL          string           `json:"url"`
	CommentCount int              `json:"comment_count"`
	Verification wireVerification `json:"verification"`
}

type wireStats struct {
	Total     int `json:"total"`
	Additions int `json:"additions"`
	Deletions int `json:"deletions"`
}

type wireCommit struct {
	SHA         string        `json:"sha"`
	NodeID      string        `json:"node_id"`
	Commit      wireGitCommit `json:"commit"`
	URL         string        `json:"url"`
	HTMLURL     string        `json:"html_url"`
	CommentsURL string        `json:"comments_url"`
	Author      *wireUser     `json:"author"`
	Committer   *wireUser     `json:"committer"`
	Parents     []wireRef     `json:"parents"`
	Stats       *wireStats    `json:"stats,omitempty"`
	Files       []wireFile    `json:"files,omitempty"`
}

type wireFile struct {
	SHA              string `json:"sha"`
	Filename         string `json:"filename"`
	Status           string `json:"status"`
	Additions        int    `json:"additions"`
	Deletions        int    `json:"deletions"`
	Changes          int    `json:"changes"`
	BlobURL          string `json:"blob_url"`
	RawURL           string `json:"raw_url"`
	ContentsURL      string `json:"contents_url"`
	Patch            string `json:"patch,omitempty"`
	PreviousFilename string `json:"previous_filename,omitempty"`
}

type wireComparison struct {
	URL             string       `json:"url"`
	HTMLURL         string       `json:"html_url"`
	PermalinkURL    string       `json:"permalink_url"`
	DiffURL         string       `json:"diff_url"`
	PatchURL        string       `json:"patch_url"`
	BaseCommit      wireCommit   `json:"base_commit"`
	MergeBaseCommit wireCommit   `json:"merge_base_commit"`
	Status          string       `json:"status"`
	AheadBy         int          `json:"ahead_by"`
	BehindBy        int          `json:"behind_by"`
	TotalCommits    int          `json:"total_commits"`
	Commits         []wireCommit `json:"commits"`
	Files           []wireFile   `json:"files"`
}

type wireRepo struct {
	ID            int64    `json:"id"`
	NodeID        string   `json:"node_id"`
	Name          string   `json:"name"`
	FullName      string   `json:"full_name"`
	Private       bool     `json:"private"`
	Owner         wireUser `json:"owner"`
	HTMLURL       string   `json:"html_url"`
	URL           string   `json:"url"`
	DefaultBranch string   `json:"default_branch"`
}

type wireBranch struct {
	Label string   `json:"label"`
	Ref   string   `json:"ref"`
	SHA   string   `json:"sha"`
	User  wireUser `json:"user"`
	Repo  wireRepo `json:"repo"`
}

type wirePull struct {
	URL               string     `json:"url"`
	ID                int64      `json:"id"`
	NodeID            string     `json:"node_id"`
	HTMLURL           string     `json:"html_url"`
	DiffURL           string     `json:"diff_url"`
	PatchURL          string     `json:"patch_url"`
	IssueURL          string     `json:"issue_url"`
	Number            int        `json:"number"`
	State             string     `json:"state"`
	Locked            bool       `json:"locked"`
	Title             string     `json:"title"`
	User              wireUser   `json:"user"`
	Body              *string    `json:"body"`
	CreatedAt         string     `json:"created_at"`
	UpdatedAt         string     `json:"updated_at"`
	ClosedAt          *string    `json:"closed_at"`
	MergedAt          *string    `json:"merged_at"`
	MergeCommitSHA    *string    `json:"merge_commit_sha"`
	Draft             bool       `json:"draft"`
	Head              wireBranch `json:"head"`
	Base              wireBranch `json:"base"`
	AuthorAssociation string     `json:"author_association"`
	Merged            bool       `json:"merged"`
	Mergeable         *bool      `json:"mergeable"`
	MergedBy          *wireUser  `json:"merged_by"`
	Comments          int        `json:"comments"`
	Commits           int        `json:"commits"`
	ChangedFiles      int        `json:"changed_files"`
}

type wireLabel struct {
	ID          int64   `json:"id"`
	NodeID      string  `json:"node_id"`
	URL         string  `json:"url"`
	Name        string  `json:"name"`
	Color       string  `json:"color"`
	Default     bool    `json:"default"`
	Description *string `json:"description"`
}

type wireIssue struct {
	URL           string      `json:"url"`
	RepositoryURL string      `json:"repository_url"`
	LabelsURL     string      `json:"labels_url"`
	CommentsURL   string      `json:"comments_url"`
	EventsURL     string      `json:"events_url"`
	HTMLURL       string      `json:"html_url"`
	ID            int64       `json:"id"`
	NodeID        string      `json:"node_id"`
	Number        int         `json:"number"`
	Title         string      `json:"title"`
	User          wireUser    `json:"user"`
	Labels        []wireLabel `json:"labels"`
	State         string      `json:"state"`
	Locked        bool        `json:"locked"`
	Assignees     []wireUser  `json:"assignees"`
	Comments      int         `json:"comments"`
	CreatedAt     string      `json:"created_at"`
	UpdatedAt     string      `json:"updated_at"`
	ClosedAt      *string     `json:"closed_at"`
	AuthorAssoc   string      `json:"author_association"`
	Body          *string     `json:"body"`
}
