import json, subprocess, sys
meta = json.loads(subprocess.check_output(["cargo", "metadata", "--format-version", "1", "--all-features"]))
root = next(p for p in meta["packages"] if p["id"] in meta["workspace_members"])
msrv = tuple(int(x) for x in root["rust_version"].split("."))
# normal (non-dev) dependencies reachable from the root, all features
resolve = {n["id"]: n for n in meta["resolve"]["nodes"]}
pkgs = {p["id"]: p for p in meta["packages"]}
seen, stack = set(), [root["id"]]
while stack:
    pid = stack.pop()
    for dep in resolve[pid]["deps"]:
        if any(k["kind"] in (None, "build") for k in dep["dep_kinds"]) and dep["pkg"] not in seen:
            seen.add(dep["pkg"]); stack.append(dep["pkg"])
bad = []
for pid in sorted(seen, key=lambda i: pkgs[i]["name"]):
    p = pkgs[pid]
    rv = p.get("rust_version")
    if rv:
        v = tuple(int(x) for x in rv.split(".")[:3])
        if v > msrv + (0,) * (len(v) - len(msrv)):
            bad.append(f'{p["name"]} {p["version"]} needs Rust {rv}')
print(f"{len(seen)} library dependencies checked against rust-version {root['rust_version']}")
for b in bad: print("  " + b)
sys.exit(1 if bad else 0)
