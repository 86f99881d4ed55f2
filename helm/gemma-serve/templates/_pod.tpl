{{/* Pod pieces shared by the head and the worker groups. */}}

{{/* Pod template metadata; the argument is (dict "root" $ "component" "head"). */}}
{{- define "gemma-serve.podMetadata" -}}
labels:
  {{- include "gemma-serve.labels" .root | nindent 2 }}
  app.kubernetes.io/component: {{ .component }}
  {{- with .root.Values.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- with .root.Values.podAnnotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
Environment of every Ray container: gemma_serve/serve/ray_env.py's RAY_ENV
(Serve's HAProxy ingress straight to the replica that owns the engine, its
throughput-optimised mode, logs on stderr, Ray's control plane kept quiet),
generated into _rayenv.tpl, then the user's extraEnv.
*/}}
{{- define "gemma-serve.rayEnv" -}}
{{ include "gemma-serve.rayEnvVars" . }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Worker-only environment: the checkpoint cache and the secrets. */}}
{{- define "gemma-serve.workerEnv" -}}
- name: HF_HOME
  value: {{ printf "%s/huggingface" .Values.modelCache.mountPath | quote }}
- name: GEMMA_SERVE_CACHE
  value: {{ printf "%s/gemma-serve" .Values.modelCache.mountPath | quote }}
{{- with .Values.huggingface.tokenSecret }}
{{- if .name }}
- name: HF_TOKEN
  valueFrom:
    secretKeyRef: {name: {{ .name | quote }}, key: {{ .key | quote }}}
{{- end }}
{{- end }}
{{- with .Values.apiKeys.secret }}
{{- if .name }}
- name: {{ $.Values.gemmaServe.server.api_keys_env | default "GEMMA_SERVE_API_KEYS" }}
  valueFrom:
    secretKeyRef: {name: {{ .name | quote }}, key: {{ .key | quote }}}
{{- end }}
{{- end }}
{{- end }}

{{/* The model cache volume of the worker pods. */}}
{{- define "gemma-serve.cacheVolume" -}}
- name: model-cache
{{- if eq .Values.modelCache.type "pvc" }}
  persistentVolumeClaim:
    claimName: {{ include "gemma-serve.cacheClaimName" . }}
{{- else if eq .Values.modelCache.type "hostPath" }}
  hostPath:
    path: {{ .Values.modelCache.hostPath.path | quote }}
    type: {{ .Values.modelCache.hostPath.type }}
{{- else }}
  emptyDir:
    sizeLimit: {{ .Values.modelCache.emptyDir.sizeLimit }}
{{- end }}
{{- end }}

{{/* An HTTP probe on the API's /health; the argument is (dict "root" $ "timing" ...). */}}
{{- define "gemma-serve.healthProbe" -}}
httpGet:
  path: /health
  port: serve
{{ toYaml (omit .timing "enabled") }}
{{- end }}

{{/* Scheduling fields of a pod: (dict "nodeSelector" ... "tolerations" ... "affinity" ...). */}}
{{- define "gemma-serve.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
