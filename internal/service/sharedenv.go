package service

// sharedEnv are the SSEGATE_ variables a service accepts in its environment
// without reading them (config.Set.Tolerate), so that one environment file
// or Kubernetes ConfigMap can serve both services (deploy/kubernetes's
// ConfigMap is shared through envFrom) while a misspelt name is still an
// error at start:
//   - a setting only the publisher has (none today; the publisher tolerates
//     every gateway setting through settings.LoadPublisher, which reads
//     their names from the gateway's own declarations;
//     TestOps/SharedEnvironment runs each binary with every setting of the
//     other);
//   - SSEGATE_TEST_LOG and SSEGATE_TEST_OUTPUT, read by the test suite, whose
//     environment the binaries it starts inherit;
//   - SSEGATE_VERSION and SSEGATE_COMMIT, docker-compose.yml's build
//     arguments, often exported in the shell that runs the binaries;
//   - SSEGATE_TOKEN, ssegatectl's token for tail and publish, exported in
//     an operator's shell (and read by `ssegatectl check-config`, which
//     loads the services' settings from that same environment).
func sharedEnv() []string {
	return []string{
		"SSEGATE_TEST_LOG", "SSEGATE_TEST_OUTPUT",
		"SSEGATE_VERSION", "SSEGATE_COMMIT",
		"SSEGATE_TOKEN",
	}
}
