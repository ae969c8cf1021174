package service

// sharedEnv are the SSEGATE_ variables a service accepts in its environment
// without reading them (config.Set.Tolerate), so that one environment file
// or Kubernetes ConfigMap can serve both services (deploy/kubernetes's
// ConfigMap is shared through envFrom) while a misspelt name is still an
// error at start:
//   - the gateway's settings that the publisher does not have (a setting
//     only the publisher has would go here too; TestOps/SharedEnvironment
//     runs each binary with every setting of the other);
//   - SSEGATE_TEST_LOG and SSEGATE_TEST_OUTPUT, read by the test suite, whose
//     environment the binaries it starts inherit;
//   - SSEGATE_VERSION and SSEGATE_COMMIT, docker-compose.yml's build
//     arguments, often exported in the shell that runs the binaries;
//   - SSEGATE_TOKEN, ssegatectl's token for tail and publish, exported in
//     an operator's shell (and read by `ssegatectl check-config`, which
//     loads the services' settings from that same environment).
func sharedEnv() []string {
	return []string{
		"SSEGATE_ALLOWED_HOSTS", "SSEGATE_AUTH_COOKIE", "SSEGATE_CONNECT_RATE_PER_IP", "SSEGATE_CORS_ORIGINS", "SSEGATE_DRAIN_WINDOW",
		"SSEGATE_MAX_CONNECTIONS", "SSEGATE_MAX_CONNECTIONS_PER_IP", "SSEGATE_MAX_TOPICS", "SSEGATE_PING_INTERVAL",
		"SSEGATE_PPROF_ADDR", "SSEGATE_QUEUE_SIZE", "SSEGATE_RETRY", "SSEGATE_SEND_TIMEOUT", "SSEGATE_STATUS_LISTEN", "SSEGATE_STATUS_TOKEN", "SSEGATE_SUBSCRIBE_AUTH",
		"SSEGATE_WRITERS",
		"SSEGATE_TEST_LOG", "SSEGATE_TEST_OUTPUT",
		"SSEGATE_VERSION", "SSEGATE_COMMIT",
		"SSEGATE_TOKEN",
	}
}
