{{/*
ssegate.env: the container's env list (same argument as ssegate.deployment).
Secrets come key by key from the Secret (secretKeyRef), files from mounted
Secrets (ssegate.volumes); the shared settings come from the ConfigMap.
*/}}
{{- define "ssegate.env" -}}
{{- $root := .root -}}
{{- $c := .c -}}
{{- $secret := include "ssegate.secretName" $root -}}
- name: SSEGATE_LISTEN_ADDR
  value: {{ printf ":%v" $c.port | quote }}
{{- if $c.redisURL }}
- name: SSEGATE_REDIS_URL
  value: {{ $c.redisURL | quote }}
{{- else }}
- name: SSEGATE_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: SSEGATE_REDIS_URL
{{- end }}
{{- if eq .component "publisher" }}
- name: SSEGATE_PUBLISH_TOKENS
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: SSEGATE_PUBLISH_TOKENS
{{- end }}
# Optional HS256 key: used with SSEGATE_SUBSCRIBE_AUTH=jwt.
- name: SSEGATE_JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: SSEGATE_JWT_SECRET
      optional: true
{{- if $c.redisPasswordSecret.name }}
- name: SSEGATE_REDIS_PASSWORD_FILE
  value: /run/secrets/redis/password
{{- end }}
{{- with $root.Values.redisTLS }}
{{- if .caSecret }}
- name: SSEGATE_REDIS_TLS_CA_FILE
  value: /etc/ssegate/redis-ca/ca.pem
{{- end }}
{{- if .clientCertSecret }}
- name: SSEGATE_REDIS_TLS_CERT_FILE
  value: /etc/ssegate/redis-client/tls.crt
- name: SSEGATE_REDIS_TLS_KEY_FILE
  value: /etc/ssegate/redis-client/tls.key
{{- end }}
{{- if .serverName }}
- name: SSEGATE_REDIS_TLS_SERVER_NAME
  value: {{ .serverName | quote }}
{{- end }}
{{- end }}
{{- if $root.Values.jwtPublicKey.secret }}
- name: SSEGATE_JWT_PUBLIC_KEY_FILE
  value: /etc/ssegate/jwt/public.pem
{{- end }}
{{- range $k, $v := $c.env }}
- name: {{ $k }}
  value: {{ $v | quote }}
{{- end }}
{{- end -}}

{{/* ssegate.volumes: the pod's Secret volumes for the files named in ssegate.env. */}}
{{- define "ssegate.volumes" -}}
{{- $root := .root -}}
{{- if .c.redisPasswordSecret.name }}
- name: redis-password
  secret:
    secretName: {{ .c.redisPasswordSecret.name }}
    defaultMode: 0440
    items:
      - key: {{ .c.redisPasswordSecret.key }}
        path: password
{{- end }}
{{- if $root.Values.redisTLS.caSecret }}
- name: redis-ca
  secret:
    secretName: {{ $root.Values.redisTLS.caSecret }}
    defaultMode: 0440
    items:
      - key: {{ $root.Values.redisTLS.caKey }}
        path: ca.pem
{{- end }}
{{- if $root.Values.redisTLS.clientCertSecret }}
- name: redis-client
  secret:
    secretName: {{ $root.Values.redisTLS.clientCertSecret }}
    defaultMode: 0440
    items:
      - key: tls.crt
        path: tls.crt
      - key: tls.key
        path: tls.key
{{- end }}
{{- if $root.Values.jwtPublicKey.secret }}
- name: jwt-public-key
  secret:
    secretName: {{ $root.Values.jwtPublicKey.secret }}
    defaultMode: 0440
    items:
      - key: {{ $root.Values.jwtPublicKey.key }}
        path: public.pem
{{- end }}
{{- end -}}

{{/* ssegate.volumeMounts: where ssegate.volumes appear (whole directories, so Secret updates reach the files). */}}
{{- define "ssegate.volumeMounts" -}}
{{- $root := .root -}}
{{- if .c.redisPasswordSecret.name }}
- name: redis-password
  mountPath: /run/secrets/redis
  readOnly: true
{{- end }}
{{- if $root.Values.redisTLS.caSecret }}
- name: redis-ca
  mountPath: /etc/ssegate/redis-ca
  readOnly: true
{{- end }}
{{- if $root.Values.redisTLS.clientCertSecret }}
- name: redis-client
  mountPath: /etc/ssegate/redis-client
  readOnly: true
{{- end }}
{{- if $root.Values.jwtPublicKey.secret }}
- name: jwt-public-key
  mountPath: /etc/ssegate/jwt
  readOnly: true
{{- end }}
{{- end -}}
