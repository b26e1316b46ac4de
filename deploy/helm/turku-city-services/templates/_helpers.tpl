{{- define "turku.labels" -}}
app.kubernetes.io/part-of: turku-city-services
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "turku.natsUrl" -}}
{{- $r := .Release.Name -}}
nats://{{ $r }}-nats-0.{{ $r }}-nats-headless:4222,nats://{{ $r }}-nats-1.{{ $r }}-nats-headless:4222,nats://{{ $r }}-nats-2.{{ $r }}-nats-headless:4222
{{- end }}

{{- define "turku.uriSecret" -}}
{{- if .Values.postgres.cnpg }}{{ .Values.postgres.clusterName }}-app{{ else }}{{ required "postgres.uriSecret" .Values.postgres.uriSecret }}{{ end }}
{{- end }}

{{/* The environment of every process: settings, secrets, DATABASE_URL, its NATS identity. */}}
{{- define "turku.env" -}}
- name: DATABASE_URL
  valueFrom: {secretKeyRef: {name: {{ include "turku.uriSecret" .root }}, key: uri}}
- name: NATS_USER
  value: {{ .name | quote }}
- name: NATS_PASSWORD
  valueFrom: {secretKeyRef: {name: {{ .root.Values.secrets.nats }}, key: {{ .name }}}}
{{- end }}

{{- define "turku.pod" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: 10001
  runAsGroup: 10001
  fsGroup: 10001
  seccompProfile: {type: RuntimeDefault}
volumes:
  - name: tmp
    emptyDir: {}
  - name: data
    emptyDir: {}
{{- end }}

{{- define "turku.container" -}}
image: "{{ .root.Values.image.repository }}:{{ .root.Values.image.tag }}"
imagePullPolicy: {{ .root.Values.image.pullPolicy }}
envFrom:
  - configMapRef: {name: {{ .root.Release.Name }}-settings}
  - secretRef: {name: {{ .root.Values.secrets.settings }}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities: {drop: [ALL]}
volumeMounts:
  - {name: tmp, mountPath: /tmp}
  - {name: data, mountPath: /var/lib/turku}
{{- end }}
