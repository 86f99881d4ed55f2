{{/*
Worker groups from the models: one group per GPU kind in use, plus one CPU
group when a model runs on `cpu`, sized from the models' hardware and Serve
autoscaling. A replica takes `units` of its pod: GPUs (`hardware.count`; its
tensor-parallel ranks always share one pod, Ray STRICT_PACK) or, on CPU, the
cores its engine binds (`hardware.cpu_cores`). A pod of U units holds
U / units replicas of a model. Output: JSON {kind: {units, minPods, maxPods,
replicas}} with units = GPUs or CPUs per pod. Checks the schema cannot express
fail here, naming the value.
*/}}
{{- define "gemma-serve.workerPlan" -}}
{{- $cfg := .Values.gemmaServe }}
{{- $server := $cfg.server | default dict }}
{{- if and (hasKey $server "host") (ne (toString $server.host) "0.0.0.0") }}
{{- fail (printf "gemmaServe.server.host=%v: in Kubernetes Ray Serve listens on every pod interface; set it to 0.0.0.0" $server.host) }}
{{- end }}
{{- $byKind := dict }}
{{- $seen := dict }}
{{- range $i, $m := $cfg.models }}
{{- $where := printf "gemmaServe.models[%d] (%s)" $i $m.name }}
{{- if hasKey $seen $m.name }}
{{- fail (printf "%s: models[].name must be unique" $where) }}
{{- end }}
{{- $_ := set $seen $m.name true }}
{{- $hw := $m.hardware | default dict }}
{{- $kind := $hw.accelerator | default "cpu" }}
{{- if not (index $.Values.workerGroups $kind) }}
{{- fail (printf "%s: no workerGroups.%s to run it on" $where $kind) }}
{{- continue }}
{{- end }}
{{- $count := 1 }}
{{- if eq $kind "cpu" }}
{{- if or (not (hasKey $hw "cpu_cores")) (kindIs "invalid" $hw.cpu_cores) }}
{{- fail (printf "%s: hardware.accelerator is cpu (the default) but hardware.cpu_cores is not set; in the chart a CPU replica must name the cores its engine binds (workerGroups.cpu.cpusPerPod / cpu_cores replicas share a pod)" $where) }}
{{- continue }}
{{- end }}
{{- $count = int $hw.cpu_cores }}
{{- else if hasKey $hw "count" }}{{ $count = int $hw.count }}{{ end }}
{{- $auto := $m.autoscaling | default dict }}
{{- $min := 1 }}
{{- if hasKey $auto "min_replicas" }}{{ $min = int $auto.min_replicas }}{{ end }}
{{- $max := 1 }}
{{- if hasKey $auto "max_replicas" }}{{ $max = int $auto.max_replicas }}{{ end }}
{{- if gt $min $max }}
{{- fail (printf "%s: autoscaling.min_replicas=%d exceeds max_replicas=%d" $where $min $max) }}
{{- end }}
{{- $initial := $min }}
{{- if and (hasKey $auto "initial_replicas") (not (kindIs "invalid" $auto.initial_replicas)) }}{{ $initial = int $auto.initial_replicas }}{{ end }}
{{- $entry := dict "where" $where "count" $count "min" $min "max" $max "initial" $initial }}
{{- $_ := set $byKind $kind (append (get $byKind $kind | default list) $entry) }}
{{- end }}
{{- $own := concat (splitList " " (include "gemma-serve.rayEnvNames" .)) (list "HF_HOME" "GEMMA_SERVE_CACHE") }}
{{- if .Values.huggingface.tokenSecret.name }}{{ $own = append $own "HF_TOKEN" }}{{ end }}
{{- if .Values.apiKeys.secret.name }}{{ $own = append $own ($server.api_keys_env | default "GEMMA_SERVE_API_KEYS") }}{{ end }}
{{- range $i, $env := .Values.extraEnv }}
{{- if has $env.name $own }}
{{- fail (printf "extraEnv[%d].name=%s is already set (by the chart or earlier in extraEnv); Kubernetes rejects a repeated variable" $i $env.name) }}
{{- end }}
{{- $own = append $own $env.name }}
{{- end }}
{{- if hasKey .Values.ray.head.rayStartParams "labels" }}
{{- fail "ray.head.rayStartParams.labels: KubeRay does not accept labels in rayStartParams" }}
{{- end }}
{{- $plan := dict }}
{{- range $kind := keys $byKind | sortAlpha }}
{{- $models := get $byKind $kind }}
{{- $group := index $.Values.workerGroups $kind }}
{{- $cpu := eq $kind "cpu" }}
{{- $sizedBy := ternary "cpusPerPod, memoryGiBPerPod" "gpusPerPod, cpuPerGpu, memoryGiBPerGpu" $cpu }}
{{- range $param := list "num-cpus" "num-gpus" "memory" "resources" "labels" }}
{{- if hasKey $group.rayStartParams $param }}
{{- fail (printf "workerGroups.%s.rayStartParams.%s: the chart sets the group's Ray resources (from %s); KubeRay rejects them set twice" $kind $param $sizedBy) }}
{{- end }}
{{- end }}
{{- $perPodKey := ternary "cpusPerPod" "gpusPerPod" $cpu }}
{{- $units := 0 }}
{{- if eq (toString (get $group $perPodKey)) "auto" }}
{{- range $models }}{{ $units = max $units .count }}{{ end }}
{{- else }}
{{- $units = int (get $group $perPodKey) }}
{{- end }}
{{- $minPods := 0 }}
{{- $maxPods := 0 }}
{{- $initPods := 0 }}
{{- range $models }}
{{- if gt .count $units }}
{{- if $cpu }}
{{- fail (printf "%s: hardware.cpu_cores=%d cores per replica, but workerGroups.cpu.cpusPerPod=%d (a replica's engine runs in one pod)" .where .count $units) }}
{{- else }}
{{- fail (printf "%s: hardware.count=%d GPUs per replica, but workerGroups.%s.gpusPerPod=%d (a replica's tensor-parallel ranks share one pod)" .where .count $kind $units) }}
{{- end }}
{{- continue }}
{{- end }}
{{- $perPod := div $units .count }}
{{- $minPods = add $minPods (div (add .min (sub $perPod 1)) $perPod) }}
{{- $maxPods = add $maxPods (div (add .max (sub $perPod 1)) $perPod) }}
{{- $initPods = add $initPods (div (add .initial (sub $perPod 1)) $perPod) }}
{{- end }}
{{- if ne (toString $group.minPods) "auto" }}{{ $minPods = int $group.minPods }}{{ end }}
{{- if ne (toString $group.maxPods) "auto" }}{{ $maxPods = int $group.maxPods }}{{ end }}
{{- if gt $minPods $maxPods }}
{{- fail (printf "workerGroups.%s: minPods=%d exceeds maxPods=%d" $kind $minPods $maxPods) }}
{{- end }}
{{- if lt $maxPods 1 }}
{{- fail (printf "workerGroups.%s: maxPods=%d leaves its models nowhere to run" $kind $maxPods) }}
{{- end }}
{{- $replicas := $maxPods }}
{{- if $.Values.ray.autoscaling.enabled }}
{{- $replicas = min (max $initPods $minPods) $maxPods }}
{{- end }}
{{- $_ := set $plan $kind (dict "units" $units "minPods" $minPods "maxPods" $maxPods "replicas" $replicas) }}
{{- end }}
{{- toJson $plan }}
{{- end }}
