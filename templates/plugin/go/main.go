// A kiln plugin in Go: sets the label `team` on every resource from `with:`.
package main

import "{{name}}/kiln"

func main() {}

func init() {
	kiln.Register(kiln.Plugin{
		Name: "{{name}}", Version: "0.1.0", Description: "Sets the label `team` from `with:`",
		Render: func(req kiln.Request) ([]*kiln.Resource, error) {
			team, ok := req.Config["team"].(string)
			if !ok {
				return nil, kiln.BadConfig("missing config key `team`", "give the step `with: {team: NAME}`")
			}
			for _, r := range req.Resources {
				if err := r.SetLabel("team", team); err != nil {
					return nil, err
				}
			}
			return req.Resources, nil
		},
	})
}
