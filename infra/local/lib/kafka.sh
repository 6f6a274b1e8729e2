# shellcheck shell=bash
# Apache Kafka 4.x, one KRaft node (broker + controller), from Maven Central jars.
# The version is pinned in infra/local/kafka/pom.xml; the jars land in
# $CACHE_DIR/kafka/lib, which is also the classpath for Kafka's own tools
# (TopicCommand, ConsoleProducer, ConsumerPerformance, ...).

KAFKA_LIB="$CACHE_DIR/kafka/lib"
KAFKA_POM="$INFRA_DIR/kafka/pom.xml"
KAFKA_DIR="$STATE_DIR/kafka"
KAFKA_LOG="$LOG_DIR/kafka.log"     # log4j2 output of the broker
KAFKA_OUT="$LOG_DIR/kafka.out"     # stdout/stderr of the JVM (crashes, GC errors)
KAFKA_MAIN="kafka.Kafka"
# java with the Kafka classpath and a quiet console log4j2 configuration
# (warnings to stderr), for Kafka's command-line classes.
KAFKA_JAVA=(java -Dlog4j2.configurationFile="$INFRA_DIR/kafka/log4j2-tools.xml" -cp "$KAFKA_LIB/*")

# kafka_install : $KAFKA_LIB holds exactly the jars the current pom resolves to.
# A stamp with the pom's checksum makes a second run skip Maven entirely.
kafka_install() {
  local stamp="$KAFKA_LIB/.pom-sha256" sum tmp
  need java "install a JDK 17+ (apt-get install openjdk-17-jre-headless)"
  sum="$(sha256sum "$KAFKA_POM" | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$sum" ]]; then
    return 0
  fi
  need mvn "install Maven (apt-get install maven)"
  tmp="$CACHE_DIR/kafka/lib.new"
  rm -rf "$tmp"
  with_progress "resolving Kafka jars from Maven Central" "$LOG_DIR/kafka-install.log" \
    mvn -q -B -Dstyle.color=never -f "$KAFKA_POM" dependency:copy-dependencies -DoutputDirectory="$tmp"
  printf '%s\n' "$sum" >"$tmp/.pom-sha256"
  rm -rf "$KAFKA_LIB"
  mv "$tmp" "$KAFKA_LIB"
}

# kafka_write_config : server.properties and admin.properties in $KAFKA_DIR match
# the current ports. Rewritten on every start, so port overrides take effect.
kafka_write_config() {
  mkdir -p "$KAFKA_DIR/data"
  cat >"$KAFKA_DIR/server.properties" <<EOF
# Written by infra/local/stack.sh on every start; edits are lost.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DIR/data
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
EOF
  # Admin calls from this script fail fast instead of retrying for a minute.
  cat >"$KAFKA_DIR/admin.properties" <<EOF
request.timeout.ms=5000
default.api.timeout.ms=8000
EOF
}

# kafka_format : the data folder is formatted for KRaft, exactly once.
# A static voter list is used, so the format runs without --standalone (KAFKA-18987).
kafka_format() {
  [[ -f "$KAFKA_DIR/data/meta.properties" ]] && return 0
  local cluster_id
  cluster_id="$("${KAFKA_JAVA[@]}" kafka.tools.StorageTool random-uuid)"
  log "formatting Kafka storage (cluster id $cluster_id)"
  "${KAFKA_JAVA[@]}" kafka.tools.StorageTool format -t "$cluster_id" \
    -c "$KAFKA_DIR/server.properties" >>"$KAFKA_OUT" 2>&1 ||
    fail_with_log "formatting Kafka storage failed" "$KAFKA_OUT"
}

# kafka_running : the recorded broker process is alive.
kafka_running() {
  pid_of kafka "$KAFKA_MAIN" >/dev/null
}

# kafka_healthy : the broker accepts connections and answers a metadata request.
kafka_healthy() {
  port_open "$KAFKA_PORT" || return 1
  timeout 20 "${KAFKA_JAVA[@]}" org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "127.0.0.1:$KAFKA_PORT" \
    --command-config "$KAFKA_DIR/admin.properties" --list >/dev/null 2>&1
}

# kafka_start : a broker process is running (started if needed); does not wait
# for health. Fails if the port is held by a process that is not ours.
kafka_start() {
  kafka_running && return 0
  port_open "$KAFKA_PORT" && die "kafka: 127.0.0.1:$KAFKA_PORT is already in use by another process"
  kafka_install
  kafka_write_config
  kafka_format
  log "starting Kafka on 127.0.0.1:$KAFKA_PORT (controller $KAFKA_CONTROLLER_PORT)"
  spawn kafka "$KAFKA_OUT" java -Xmx512m -Xms512m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dkafka.logs.dir="$LOG_DIR" \
    -Dlog4j2.configurationFile="$INFRA_DIR/kafka/log4j2.xml" \
    -cp "$KAFKA_LIB/*" "$KAFKA_MAIN" "$KAFKA_DIR/server.properties"
}

# kafka_wait : blocks until the broker is healthy, or exits with its log tail.
kafka_wait() {
  wait_healthy kafka kafka_healthy "$KAFKA_LOG" "$KAFKA_OUT"
}

# kafka_stop : no broker process is running (controlled shutdown, then kill).
kafka_stop() {
  stop_pid kafka "$KAFKA_MAIN" 60
}
