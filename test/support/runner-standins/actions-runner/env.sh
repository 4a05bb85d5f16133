#!/bin/bash
# Stand-in for actions/runner src/Misc/layoutroot/env.sh (written anew, same behaviour): records PATH in .path and a
# few tool variables in .env, in the current (runner) directory, keeping the entries .env already has.
names=(LANG JAVA_HOME ANT_HOME M2_HOME ANDROID_HOME ANDROID_SDK_ROOT GRADLE_HOME NVM_BIN NVM_PATH LD_LIBRARY_PATH PERL5LIB)
existing=""
if [ -f .env ]; then existing="$(cat .env)"; else touch .env; fi
echo "$PATH" >.path
for name in "${names[@]}"; do
  case "$existing" in *"$name="*) continue ;; esac
  [ -n "${!name}" ] && echo "$name=${!name}" >>.env
done
