#!/bin/sh
# Builds the JMH benchmarks (benchmarks/src) into one jar and runs them with short warm-ups, printing JMH's table.
# Arguments go to JMH: a regex picks benchmarks (benchmarks/jmh.sh ZeroPage), -p content=zero fixes a parameter.
# JMH_OPTS overrides the run lengths; JHV_MVN_OPTS adds Maven options (-o to build offline).
set -e
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mvn -B -q $JHV_MVN_OPTS package -DskipTests -Pjmh -pl benchmarks -am
java=$("$root/scripts/find-java")
# 3 x 1 s warm-up, 5 x 1 s measured, one fork: seconds per benchmark, enough for the ratios these compare
exec "$java" -jar benchmarks/target/benchmarks.jar ${JMH_OPTS:--wi 3 -w 1s -i 5 -r 1s -f 1} "$@"
