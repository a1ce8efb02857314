// Package kiln is the plugin side of kiln's contract (wit/plugin.wit,
// kiln:plugin@0.1.0) for Go: a plugin calls Register from an init function,
// and `kiln plugin build` turns the program into a component.
//
// Resources are JSON objects kept as text: Resource edits them without
// reordering their keys (encoding/json would sort a map's keys, which shows
// up as a diff in every rendered manifest).
package kiln

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Plugin describes a plugin and renders.
type Plugin struct {
	Name, Version, Description string
	// ConfigSchema is an optional JSON Schema of `with:`.
	ConfigSchema string
	// Render turns the step's input resources into its output resources.
	Render func(Request) ([]*Resource, error)
}

// Request is one render call.
type Request struct {
	// Resources are the step's input, in pipeline order.
	Resources []*Resource
	// Config is the step's `with:`.
	Config map[string]any
	// ConfigJSON is `with:` as kiln sent it.
	ConfigJSON string
	// AppName, AppDir and Step say where the call comes from.
	AppName, AppDir, Step string
	// Namespace is the app's namespace, or "".
	Namespace string
	// KubeVersion is the target cluster's version.
	KubeVersion string
	// APIVersions are the API versions the cluster serves.
	APIVersions []string
}

// Error fails the step: Kind is one of BadConfigKind, BadInputKind,
// FailureKind.
type Error struct {
	Kind          uint8
	Message, Hint string
}

// The kinds of Error, as in the contract's error-kind.
const (
	BadConfigKind uint8 = iota
	BadInputKind
	FailureKind
)

func (e *Error) Error() string { return e.Message }

// BadConfig is an error in the step's `with:`.
func BadConfig(message, hint string) error {
	return &Error{Kind: BadConfigKind, Message: message, Hint: hint}
}

// BadInput is an error in the input resources.
func BadInput(message, hint string) error {
	return &Error{Kind: BadInputKind, Message: message, Hint: hint}
}

var registered *Plugin

// Register makes p the plugin this program exports.
func Register(p Plugin) { registered = &p }

// Resource is one Kubernetes resource as a JSON object.
type Resource struct{ json []byte }

// NewResource wraps the JSON text of an object.
func NewResource(text string) *Resource { return &Resource{json: []byte(text)} }

// String is the resource's JSON text.
func (r *Resource) String() string { return string(r.json) }

// SetLabel sets metadata.labels[key] to value, keeping every key's place
// (a new key goes last).
func (r *Resource) SetLabel(key, value string) error {
	return r.setString([]string{"metadata", "labels", key}, value)
}

// SetAnnotation sets metadata.annotations[key] to value, keeping order.
func (r *Resource) SetAnnotation(key, value string) error {
	return r.setString([]string{"metadata", "annotations", key}, value)
}

func (r *Resource) setString(path []string, value string) error {
	v, err := json.Marshal(value)
	if err != nil {
		return err
	}
	out, err := setPath(r.json, path, v)
	if err != nil {
		return BadInput(fmt.Sprintf("cannot set %v: %v", path, err), "kiln sends each resource as a JSON object")
	}
	r.json = out
	return nil
}

// member is one key of an object with its value's JSON text.
type member struct {
	key   string
	value json.RawMessage
}

// setPath sets path in the object doc (creating objects on the way) to the
// JSON value v.
func setPath(doc []byte, path []string, v []byte) ([]byte, error) {
	var members []member
	if len(bytes.TrimSpace(doc)) > 0 {
		var err error
		if members, err = parseObject(doc); err != nil {
			return nil, err
		}
	}
	i := 0
	for i < len(members) && members[i].key != path[0] {
		i++
	}
	if i == len(members) {
		members = append(members, member{key: path[0]})
	}
	if len(path) == 1 {
		members[i].value = v
	} else {
		inner := members[i].value
		if bytes.Equal(bytes.TrimSpace(inner), []byte("null")) {
			inner = nil
		}
		sub, err := setPath(inner, path[1:], v)
		if err != nil {
			return nil, err
		}
		members[i].value = sub
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for j, m := range members {
		if j > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(m.value)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// parseObject reads a JSON object's members in their order.
func parseObject(doc []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object")
	}
	var members []member
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, err
		}
		members = append(members, member{key: t.(string), value: value})
	}
	return members, nil
}
