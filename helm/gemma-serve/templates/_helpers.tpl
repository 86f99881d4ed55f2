{{/*
Names. The RayService name is a DNS-1035 label of at most 47 characters
(KubeRay appends a 6-character suffix for its RayCluster); everything else is
derived from it.
*/}}
{{- define "gemma-serve.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 40 | trimSuffix "-" }}
{{- end }}

{{- define "gemma-serve.fullname" -}}
{{- $name := "" }}
{{- if .Values.fullnameOverride }}
{{- $name = .Values.fullnameOverride }}
{{- else if contains (include "gemma-serve.name" .) .Release.Name }}
{{- $name = .Release.Name }}
{{- else }}
{{- $name = printf "%s-%s" .Release.Name (include "gemma-serve.name" .) }}
{{- end }}
{{- $name = $name | trunc 47 | trimSuffix "-" }}
{{- if not (regexMatch "^[a-z]([-a-z0-9]*[a-z0-9])?$" $name) }}
{{- fail (printf "the RayService name %q must start with a letter and contain only a-z, 0-9 and '-' (set fullnameOverride)" $name) }}
{{- end }}
{{- $name }}
{{- end }}

{{- define "gemma-serve.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "gemma-serve.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gemma-serve.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "gemma-serve.labels" -}}
helm.sh/chart: {{ include "gemma-serve.chart" . }}
{{ include "gemma-serve.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: gemma-serve
{{- end }}

{{- define "gemma-serve.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* The CPU image (docker/Dockerfile.cpu) of the CPU worker group. */}}
{{- define "gemma-serve.cpuImage" -}}
{{- with .Values.workerGroups.cpu.image }}
{{- printf "%s:%s" .repository (.tag | default $.Chart.AppVersion) }}
{{- end }}
{{- end }}

{{- define "gemma-serve.apiServiceName" -}}
{{- printf "%s-api" (include "gemma-serve.fullname" .) }}
{{- end }}

{{- define "gemma-serve.cacheClaimName" -}}
{{- .Values.modelCache.pvc.existingClaim | default (printf "%s-model-cache" (include "gemma-serve.fullname" .)) }}
{{- end }}

{{/* The API port: gemmaServe.server.port, KubeRay's container port named "serve". */}}
{{- define "gemma-serve.apiPort" -}}
{{- int (.Values.gemmaServe.server.port | default 8000) }}
{{- end }}

{{/*
The Serve config (KubeRay's serveConfigV2): one application whose builder
loads .Values.gemmaServe with gemma-serve's own DeploymentConfig.
*/}}
{{- define "gemma-serve.serveConfig" -}}
{{- $app := dict "name" "gemma-serve" "route_prefix" "/" "import_path" "gemma_serve.serve.app:build_app" "args" (dict "config" .Values.gemmaServe) }}
{{- $http := dict "host" "0.0.0.0" "port" (include "gemma-serve.apiPort" . | int) }}
{{- toYaml (dict "proxy_location" "EveryNode" "http_options" $http "applications" (list $app)) }}
{{- end }}
