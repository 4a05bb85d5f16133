#!/bin/bash
# Stand-in for myoung34/github-runner's /token.sh (written anew, same behaviour): asks GitHub's REST API for a
# registration token with ACCESS_TOKEN and prints {"token", "full_url"}. The API is https://api.<GITHUB_HOST> for
# github.com, else https://<GITHUB_API_HOST or GITHUB_HOST><GITHUB_API_PATH, default /api/v3>: always https.
host_of() { local h="${1#http://}"; h="${h#https://}"; echo "${h%%/}"; }
path_of() {
  local p="${1:-}"
  if [ -z "$p" ] || [ "$p" = / ]; then echo ""; return; fi
  p="/${p#/}"
  echo "${p%/}"
}
github_host="$(host_of "${GITHUB_HOST:=github.com}")"
if [ -n "$GITHUB_API_HOST" ]; then
  api_host="$(host_of "$GITHUB_API_HOST")"; api_path="$(path_of "${GITHUB_API_PATH:-/api/v3}")"
elif [ "$github_host" = github.com ]; then
  api_host="api.$github_host"; api_path="$(path_of "${GITHUB_API_PATH:-/}")"
else
  api_host="$github_host"; api_path="$(path_of "${GITHUB_API_PATH:-/api/v3}")"
fi
api="https://$api_host$api_path"
case "$RUNNER_SCOPE" in
  org*) url="$api/orgs/$ORG_NAME/actions/runners/registration-token" ;;
  ent*) url="$api/enterprises/$ENTERPRISE_NAME/actions/runners/registration-token" ;;
  *)
    repo_path="$(echo "${REPO_URL/https:\/\//}" | grep / | cut -d/ -f2-)"
    url="$api/repos/$(echo "$repo_path" | cut -d/ -f1)/$(echo "$repo_path" | cut -d/ -f2)/actions/runners/registration-token"
    ;;
esac
token="$(curl -XPOST -fsSL -H 'Content-Length: 0' -H "Authorization: token $ACCESS_TOKEN" \
  -H 'Accept: application/vnd.github.v3+json' "$url" | jq -r .token)"
echo "{\"token\": \"$token\", \"full_url\": \"$url\"}"
