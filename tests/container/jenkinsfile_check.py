#!/usr/bin/python3
"""Structural checks of the Jenkinsfile (no Jenkins, hence no declarative
linter, runs here): Groovy brackets balance outside strings and comments; the
declarative skeleton and the stages the pipeline must have, in order; the
push uses Jenkins' credentials store and tags the commit and the branch; no
credential is written in the file.  This does NOT prove Jenkins accepts the
file (README says so).

  jenkinsfile_check.py JENKINSFILE
Prints "ok   jenkins.NAME" / "FAIL jenkins.NAME" and "jenkins: N passed, N failed".
"""
import re
import sys

src = open(sys.argv[1]).read()
passed = failed = 0


def check(name, ok, why=""):
    global passed, failed
    print(("ok   jenkins." if ok else "FAIL jenkins.") + name + ("" if ok or not why else ": " + why))
    if ok:
        passed += 1
    else:
        failed += 1


def code_only(s):
    """The text with Groovy comments and string contents blanked (strings kept as '')."""
    out, i, n = [], 0, len(s)
    while i < n:
        if s.startswith("//", i):
            j = s.find("\n", i)
            i = n if j < 0 else j
        elif s.startswith("/*", i):
            j = s.find("*/", i + 2)
            if j < 0:
                return None
            i = j + 2
        elif s.startswith("'''", i) or s.startswith('"""', i):
            j = s.find(s[i:i + 3], i + 3)
            if j < 0:
                return None
            out.append("''")
            i = j + 3
        elif s[i] in "'\"":
            q, j = s[i], i + 1
            while j < n and s[j] != q:
                if s[j] == "\\":
                    j += 1
                if s[j] == "\n":
                    return None
                j += 1
            if j >= n:
                return None
            out.append("''")
            i = j + 1
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


code = code_only(src)
check("strings_and_comments_terminated", code is not None, "an unterminated string or comment")
code = code or ""
stack, bad = [], None
pairs = {")": "(", "]": "[", "}": "{"}
for lineno, line in enumerate(code.splitlines(), 1):
    for ch in line:
        if ch in "([{":
            stack.append((ch, lineno))
        elif ch in ")]}":
            if not stack or stack[-1][0] != pairs[ch]:
                bad = bad or "unmatched %s on line %d" % (ch, lineno)
            else:
                stack.pop()
check("brackets_balanced", not bad and not stack, bad or "unclosed %s" % stack[-1:] if stack else bad or "")

check("declarative_pipeline", re.match(r"\s*pipeline\s*\{", code) is not None and
      all(re.search(r"\b%s\s*\{" % k, code) for k in ("agent", "parameters", "stages", "post")),
      "pipeline { agent, parameters, stages, post } expected")
stages = re.findall(r"stage\('([^']+)'\)", src)
want = ["Checkout", "Test", "Image", "Container test", "Push"]
check("stages_in_order", stages == want, "stages %s, expected %s" % (stages, want))


def stage_body(name):
    m = re.search(r"stage\('%s'\)\s*\{" % re.escape(name), src)
    if not m:
        return ""
    depth, i = 1, m.end()
    while i < len(src) and depth:
        depth += {"{": 1, "}": -1}.get(src[i], 0)
        i += 1
    return src[m.end():i]


check("checkout_scm", "checkout scm" in stage_body("Checkout"))
check("test_stage_runs_make_test", re.search(r"sh\s+'make test'", stage_body("Test")) is not None)
img = stage_body("Image")
check("image_built_with_commit", "scripts/build-image.sh" in img and "GIT_COMMIT=" in img,
      "the Image stage must build through scripts/build-image.sh with GIT_COMMIT")
check("container_test_stage", "make container-test" in stage_body("Container test") and
      re.search(r"CI\s*=\s*'true'", src) is not None, "make container-test with CI=true (must not skip)")
push = stage_body("Push")
check("registry_and_region_parameters", all(re.search(r"string\(name: '%s'" % p, src)
                                             for p in ("ECR_REGISTRY", "AWS_REGION", "ECR_REPOSITORY")))
check("push_uses_credentials_store", "withCredentials" in push and "credentialsId: params.AWS_CREDENTIALS_ID" in push
      and "aws ecr get-login-password" in push and "--password-stdin" in push)
check("push_tags_commit_and_branch", re.search(r'for tag in "\$COMMIT" "\$BRANCH_TAG"', push) is not None
      and "podman push" in push)
secrets = re.findall(r"AKIA[0-9A-Z]{16}|aws_secret_access_key\s*=|password\s*[:=]\s*['\"][^'\"]+['\"]"
                     r"|[0-9]{12}\.dkr\.ecr", src, re.I)
check("no_credentials_or_accounts_in_file", not secrets, "found %s" % secrets)

print("jenkins: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
