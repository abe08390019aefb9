#!/usr/bin/python3
# -*- coding: utf-8 -*-
# tcptune_profile: apply tcptune profiles idempotently, with check and diff
# mode. A thin wrapper over the documented CLI contract (docs/contract.md):
# it never parses text output, only `-o json` and the exit status.

DOCUMENTATION = r"""
---
module: tcptune_profile
short_description: Apply tcptune network-stack profiles
description:
  - Runs C(tcptune apply PROFILES -o json --detailed-exitcode); exit status 2
    means something changed, 0 nothing to do.
  - In check mode runs C(tcptune apply --dry-run -o json) and writes nothing.
  - In diff mode reports each key's live and resulting value.
  - With I(plan), check exactly then apply exactly: check mode saves the plan
    on the host (C(tcptune diff PROFILES --out PLAN)), the next run applies
    exactly that plan (C(tcptune apply PLAN)) and fails, with nothing written,
    when a key's live value or the profile changed in between, or when no plan
    was saved.
options:
  profiles: {type: list, elements: str, required: true, description: Profile names or YAML files, composed left to right.}
  persist: {type: bool, default: true, description: Persist to sysctl.d (false adds --no-persist).}
  binary: {type: path, default: tcptune, description: The tcptune executable.}
  state_dir: {type: path, description: --state-dir (transaction records and lock).}
  persist_dir: {type: path, description: --persist-dir (where 90-tcptune.conf is written).}
  profile_dir: {type: list, elements: path, description: --profile-dir directories.}
  netns: {type: str, description: --netns NAME|PATH, run inside another network namespace.}
  sysctl_root: {type: path, description: --sysctl-root (a fake tree, for tests).}
  plan: {type: path, description: A plan file on the host; check mode writes it, a normal run applies exactly it.}
"""

EXAMPLES = r"""
- name: Tune the web tier
  tcptune_profile:
    profiles: [high-concurrency, fail-fast]

# ansible-playbook --check --diff saves and shows the plan; ansible-playbook
# then applies exactly what was shown, or fails if the host moved since.
- name: Tune the web tier, exactly as reviewed
  tcptune_profile:
    profiles: [high-concurrency, fail-fast]
    plan: /var/lib/tcptune/ansible-plan.json
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule


def build_args(p, check):
    if p.get("plan") and check:
        args = [p["binary"], "diff"] + p["profiles"] + ["-o", "json", "--out", p["plan"]]
        opts = (("netns", "--netns"), ("sysctl_root", "--sysctl-root"))
    else:
        what = [p["plan"]] if p.get("plan") else p["profiles"]
        args = [p["binary"], "apply"] + what + ["-o", "json"]
        args += ["--dry-run"] if check else ["--detailed-exitcode"]
        if not p["persist"]:
            args.append("--no-persist")
        opts = (("state_dir", "--state-dir"), ("persist_dir", "--persist-dir"),
                ("netns", "--netns"), ("sysctl_root", "--sysctl-root"))
    for opt, flag in opts:
        if p.get(opt):
            args += [flag, p[opt]]
    for d in p.get("profile_dir") or []:
        args += ["--profile-dir", d]
    return args


def main():
    module = AnsibleModule(
        argument_spec=dict(
            profiles=dict(type="list", elements="str", required=True),
            persist=dict(type="bool", default=True),
            binary=dict(type="path", default="tcptune"),
            state_dir=dict(type="path"),
            persist_dir=dict(type="path"),
            profile_dir=dict(type="list", elements="path"),
            netns=dict(type="str"),
            sysctl_root=dict(type="path"),
            plan=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    plan = module.params.get("plan")
    if plan and not module.check_mode and not os.path.exists(plan):
        module.fail_json(msg="no saved plan at %s: run the playbook in check mode first (it saves the plan)" % plan)
    args = build_args(module.params, module.check_mode)
    rc, out, err = module.run_command(args)
    # apply prints its JSON result even when it fails (failed: true).
    try:
        res = json.loads(out) if out.strip() else {}
    except ValueError:
        module.fail_json(msg="tcptune printed no JSON", rc=rc, stdout=out, stderr=err, cmd=args)
    if rc not in (0, 2) or res.get("failed"):
        module.fail_json(msg=err.strip() or "tcptune apply failed", rc=rc, result=res, cmd=args)
    if plan and module.check_mode:  # diff -o json: the plan, also saved to the file
        sets = [c for c in res.get("changes", []) if c.get("action") == "set"]
        diff = {
            "before": "".join("%s = %s\n" % (c["key"], c["before"]) for c in sets),
            "after": "".join("%s = %s\n" % (c["key"], c["after"]) for c in sets),
        }
        module.exit_json(changed=not res.get("in_sync", False), plan=plan, settings=res.get("changes", []),
                         diff=diff, cmd=args)
    changed = bool(res.get("changed")) if module.check_mode else rc == 2
    sets = [s for s in res.get("settings", []) if s.get("action") == "set"]
    diff = {
        "before": "".join("%s = %s\n" % (s["key"], s["before"]) for s in sets),
        "after": "".join("%s = %s\n" % (s["key"], s["after"]) for s in sets),
    }
    module.exit_json(changed=changed, transaction=res.get("transaction", ""),
                     settings=res.get("settings", []), persisted=res.get("persisted"),
                     warnings_tcptune=res.get("warnings", []), diff=diff, cmd=args)


if __name__ == "__main__":
    main()
