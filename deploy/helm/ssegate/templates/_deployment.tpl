{{/*
ssegate.deployment: the Deployment of one component, called with
(dict "root" $ "component" "gateway" "c" .Values.gateway). The drain timing
(terminationGracePeriodSeconds vs SSEGATE_SHUTDOWN_GRACE, the optional
preStop sleep) is explained in docs/deployment.md, "Graceful shutdown".
*/}}
{{- define "ssegate.deployment" -}}
{{- $root := .root -}}
{{- $c := .c -}}
{{- $name := printf "%s-%s" (include "ssegate.fullname" $root) .component -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  labels:
    {{- include "ssegate.labels" . | nindent 4 }}
spec:
  replicas: {{ $c.replicas }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "ssegate.selectorLabels" . | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      # One pod at a time: every replaced gateway sends its clients
      # reconnecting to the others.
      maxUnavailable: 0
      maxSurge: 1
  template:
    metadata:
      labels:
        {{- include "ssegate.selectorLabels" . | nindent 8 }}
      annotations:
        # Roll the pods when the shared settings change.
        checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
        {{- with $c.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      terminationGracePeriodSeconds: {{ $c.terminationGracePeriodSeconds }}
      automountServiceAccountToken: false
      enableServiceLinks: false
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        runAsGroup: 65532
        fsGroup: 65532
        seccompProfile:
          type: RuntimeDefault
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "ssegate.selectorLabels" . | nindent 14 }}
      {{- with $c.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $c.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $c.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ .component }}
          image: {{ printf "%s:%s" $c.image.repository $c.image.tag | quote }}
          imagePullPolicy: {{ $c.image.pullPolicy }}
          ports:
            - name: http
              containerPort: {{ $c.port }}
              protocol: TCP
          envFrom:
            - configMapRef:
                name: {{ include "ssegate.fullname" $root }}-config
          env:
            {{- include "ssegate.env" . | nindent 12 }}
          {{- if gt (int $c.preStopSleepSeconds) 0 }}
          lifecycle:
            preStop:
              # A sleep action needs no shell (the image is distroless).
              sleep:
                seconds: {{ $c.preStopSleepSeconds }}
          {{- end }}
          readinessProbe:
            # /readyz fails while Redis is unreachable and, once the drain
            # starts, the connection is refused: no new stream lands here.
            httpGet:
              path: /readyz
              port: http
            periodSeconds: 5
            timeoutSeconds: 2
            failureThreshold: 1
            successThreshold: 1
          livenessProbe:
            # /healthz does not depend on Redis: a Redis outage restarts
            # nothing.
            httpGet:
              path: /healthz
              port: http
            initialDelaySeconds: 5
            periodSeconds: 10
            timeoutSeconds: 2
            failureThreshold: 3
          resources:
            {{- toYaml $c.resources | nindent 12 }}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            runAsNonRoot: true
            capabilities:
              drop: ["ALL"]
          {{- with (include "ssegate.volumeMounts" . | trim) }}
          volumeMounts:
            {{- . | nindent 12 }}
          {{- end }}
      {{- with (include "ssegate.volumes" . | trim) }}
      volumes:
        {{- . | nindent 8 }}
      {{- end }}
{{- end -}}
