#!/usr/bin/env bash
# Builds digitbot for the robot, installs it as a systemd service and checks that it came
# up; rolls back to the previous binary if it did not.
#
#   deploy/deploy.sh [--native] [--force-config] [--dry-run] USER@HOST
#   deploy/deploy.sh --model NEW.onnx [--dry-run] USER@HOST
#
# By default the binary is cross-compiled here for aarch64 with cargo-zigbuild at a glibc
# floor of 2.27, so one binary runs on JetPack 4 (Ubuntu 18.04) to 6. That needs, once:
#   rustup target add aarch64-unknown-linux-gnu
#   pip install cargo-zigbuild                      # brings zig, the cross linker
#   apt-get install libclang-dev libc6-dev-arm64-cross linux-libc-dev-arm64-cross
# --native builds on the robot instead (it needs Rust and libclang-dev there).
# The robot's /etc/digitbot/robot.toml is kept unless --force-config; the new default is
# put beside it as robot.toml.new.
#
# --model NEW.onnx redeploys just a model (say, one fine-tuned on the robot's captures): it
# replaces the model robot.toml names, in one atomic rename, restarts the service, checks it
# came up, and puts the previous model back if it did not.
set -euo pipefail

usage() {
    echo "usage: $0 [--native] [--force-config] [--dry-run] USER@HOST" >&2
    echo "       $0 --model NEW.onnx [--dry-run] USER@HOST" >&2
    exit 2
}

native=0 force_config=0 dry_run=0 host="" model=""
while [ $# -gt 0 ]; do
    case "$1" in
        --native) native=1 ;;
        --force-config) force_config=1 ;;
        --dry-run) dry_run=1 ;;
        --model)
            [ $# -ge 2 ] || usage
            model="$2"
            shift
            ;;
        -h | --help) usage ;;
        -*) echo "unknown option: $1" >&2; usage ;;
        *) [ -z "$host" ] || usage; host="$1" ;;
    esac
    shift
done
[ -n "$host" ] || usage

cd "$(dirname "$0")/.."
target=aarch64-unknown-linux-gnu
stage=/tmp/digitbot-deploy

# Prints a step, and runs it unless this is a dry run.
step() {
    echo "+ $*"
    if [ "$dry_run" = 0 ]; then
        "$@"
    fi
}

# Runs a script as root on the robot; the dry run prints it.
remote_root() {
    local what="$1" script="$2"
    echo "+ ssh $host sudo bash -s   # $what"
    # The script is indented by 4 spaces in the plan.
    printf '%s\n' "$script" | sed 's/^/    /'
    if [ "$dry_run" = 0 ]; then
        ssh "$host" sudo bash -s <<<"$script"
    fi
}

if [ -n "$model" ]; then
    if [ "$dry_run" = 0 ] && [ ! -f "$model" ]; then
        echo "--model $model: no such file" >&2
        exit 2
    fi
    echo "== copy the model"
    step ssh "$host" "mkdir -p $stage"
    step scp "$model" "$host:$stage/model.onnx"
    remote_root "swap the model; roll back if the service does not come up" "set -u
# The model robot.toml names (the first path = under [model]).
dest=\$(awk -F'\"' '/^\\[model\\]/{m=1} m && /^path *=/{print \$2; exit}' /etc/digitbot/robot.toml)
dest=\${dest:-/opt/digitbot/models/digit-cnn.onnx}
if [ -f \"\$dest\" ]; then cp -p \"\$dest\" \"\$dest.prev\"; fi
install -m 0644 $stage/model.onnx \"\$dest.new\"
mv -f \"\$dest.new\" \"\$dest\"
if systemctl restart digitbot && sleep 5 && systemctl is-active --quiet digitbot; then
  echo \"digitbot is running with \$(sha256sum \"\$dest\" | cut -c1-16)...\"
  exit 0
fi
echo 'digitbot did not come up with the new model:' >&2
journalctl -u digitbot -n 30 --no-pager >&2
if [ -f \"\$dest.prev\" ]; then
  echo 'rollback: restoring the previous model' >&2
  mv -f \"\$dest.prev\" \"\$dest\"
  systemctl restart digitbot && echo 'rollback: previous model running' >&2
fi
exit 1"
    exit 0
fi

echo "== build"
if [ "$native" = 1 ]; then
    step rsync -a --delete --exclude /target --exclude /.git ./ "$host:digitbot-src/"
    step ssh "$host" "cd digitbot-src && cargo build --release --features camera"
    step ssh "$host" "mkdir -p $stage && cp digitbot-src/target/release/digitbot $stage/digitbot"
else
    # bindgen (for v4l) must see the robot's kernel headers, not this machine's.
    export BINDGEN_EXTRA_CLANG_ARGS_aarch64_unknown_linux_gnu="--sysroot=/usr/aarch64-linux-gnu -I/usr/aarch64-linux-gnu/include"
    step cargo zigbuild --release --target "$target.2.27" --features camera
    bin="target/$target/release/digitbot"
    step ssh "$host" "mkdir -p $stage"
    step scp "$bin" "$host:$stage/digitbot"
fi

echo "== copy models, config and unit"
step scp models/*.onnx config/robot.toml deploy/digitbot.service "$host:$stage/"

echo "== install"
remote_root "user, files, unit" "set -eu
force_config=$force_config
id digitbot >/dev/null 2>&1 || useradd --system --user-group --no-create-home --shell /usr/sbin/nologin digitbot
for g in video i2c gpio; do getent group \$g >/dev/null && usermod -aG \$g digitbot; done
install -d -m 0755 /opt/digitbot/bin /opt/digitbot/models /etc/digitbot
if [ -f /opt/digitbot/bin/digitbot ]; then cp -p /opt/digitbot/bin/digitbot /opt/digitbot/bin/digitbot.prev; fi
install -m 0755 $stage/digitbot /opt/digitbot/bin/digitbot.new
mv -f /opt/digitbot/bin/digitbot.new /opt/digitbot/bin/digitbot
install -m 0644 $stage/*.onnx /opt/digitbot/models/
if [ \$force_config = 1 ] || [ ! -f /etc/digitbot/robot.toml ]; then
  install -m 0644 $stage/robot.toml /etc/digitbot/robot.toml
else
  install -m 0644 $stage/robot.toml /etc/digitbot/robot.toml.new
  echo 'kept the robot'\\''s /etc/digitbot/robot.toml (the new default is robot.toml.new)'
fi
install -m 0644 $stage/digitbot.service /etc/systemd/system/digitbot.service
systemctl daemon-reload
systemctl enable digitbot"

echo "== restart and check"
remote_root "restart; roll back if it does not come up" "set -u
# Type=notify: restart returns once the firmware says READY (model and camera up).
if systemctl restart digitbot && sleep 5 && systemctl is-active --quiet digitbot; then
  /opt/digitbot/bin/digitbot --version
  echo 'digitbot is running'
  exit 0
fi
echo 'digitbot did not come up:' >&2
journalctl -u digitbot -n 30 --no-pager >&2
if [ -f /opt/digitbot/bin/digitbot.prev ]; then
  echo 'rollback: restoring the previous binary' >&2
  mv -f /opt/digitbot/bin/digitbot.prev /opt/digitbot/bin/digitbot
  systemctl restart digitbot && echo 'rollback: previous version running' >&2
fi
exit 1"
