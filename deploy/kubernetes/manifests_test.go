// Package kubernetes holds the DaemonSet manifests; the test checks them
// against the real CLI so they cannot drift from the flags and profiles.
package kubernetes

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/tcptune/tcptune/internal/cli"
)

type mount struct {
	Name      string `yaml:"name"`
	MountPath string `yaml:"mountPath"`
}

type manifest struct {
	Kind     string                `yaml:"kind"`
	Metadata struct{ Name string } `yaml:"metadata"`
	Data     map[string]string     `yaml:"data"`
	Spec     struct {
		Template struct {
			Spec struct {
				HostNetwork bool `yaml:"hostNetwork"`
				Tolerations []struct {
					Operator string `yaml:"operator"`
				} `yaml:"tolerations"`
				Containers []struct {
					Args            []string `yaml:"args"`
					SecurityContext struct {
						Privileged bool `yaml:"privileged"`
					} `yaml:"securityContext"`
					VolumeMounts []mount `yaml:"volumeMounts"`
				} `yaml:"containers"`
				Volumes []struct {
					Name      string `yaml:"name"`
					ConfigMap *struct {
						Name string `yaml:"name"`
					} `yaml:"configMap"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

func load(t *testing.T) map[string]manifest {
	t.Helper()
	f, err := os.Open("tcptune.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]manifest{}
	dec := yaml.NewDecoder(f)
	for {
		var m manifest
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("tcptune.yaml: %v", err)
		}
		out[m.Kind] = m
	}
	return out
}

// TestDaemonSet: privileged, host network, tolerates every taint, mounts the
// ConfigMap where --profile-dir points, and runs reconcile with flags the
// real CLI accepts and a profile that validates.
func TestDaemonSet(t *testing.T) {
	ms := load(t)
	ds, cm := ms["DaemonSet"], ms["ConfigMap"]
	pod := ds.Spec.Template.Spec
	if !pod.HostNetwork {
		t.Error("hostNetwork must be true: the node's namespace holds the sysctls pods share")
	}
	if len(pod.Tolerations) == 0 || pod.Tolerations[0].Operator != "Exists" {
		t.Error("want a toleration with operator Exists (every node)")
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(pod.Containers))
	}
	c := pod.Containers[0]
	if !c.SecurityContext.Privileged {
		t.Error("the container must be privileged: /proc/sys is read-only otherwise")
	}
	if len(c.Args) < 2 || c.Args[0] != "reconcile" {
		t.Fatalf("args must start with reconcile PROFILE, got %v", c.Args)
	}
	profileDir := ""
	for _, a := range c.Args {
		if v, ok := strings.CutPrefix(a, "--profile-dir="); ok {
			profileDir = v
		}
	}
	cmVolume := ""
	for _, v := range pod.Volumes {
		if v.ConfigMap != nil && v.ConfigMap.Name == cm.Metadata.Name {
			cmVolume = v.Name
		}
	}
	if !slices.ContainsFunc(c.VolumeMounts, func(m mount) bool {
		return m.Name == cmVolume && m.MountPath == profileDir
	}) {
		t.Errorf("ConfigMap %s (volume %q) is not mounted at --profile-dir %q", cm.Metadata.Name, cmVolume, profileDir)
	}

	// The ConfigMap's profiles, as the pod sees them, must validate.
	dir := t.TempDir()
	for name, body := range cm.Data {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out, errb bytes.Buffer
	if code := cli.Run([]string{"validate", "--profile-dir", dir, c.Args[1]}, nil, &out, &errb); code != 0 {
		t.Errorf("profile %s from the ConfigMap does not validate (exit %d):\n%s%s", c.Args[1], code, out.String(), errb.String())
	}
	// Every flag must exist: cobra rejects unknown flags even with --help.
	out.Reset()
	errb.Reset()
	if code := cli.Run(append(slices.Clone(c.Args), "--help"), nil, &out, &errb); code != 0 {
		t.Errorf("tcptune %s: exit %d: %s", strings.Join(c.Args, " "), code, errb.String())
	}
}
