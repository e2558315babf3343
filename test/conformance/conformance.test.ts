/**
 * The OCI Distribution Spec conformance suite, ported from Go (opencontainers/distribution-spec,
 * conformance/00_conformance_suite_test.go): the four workflows, in order, against one registry
 * and one namespace, sharing state the way the Go specs do; then the checks of the current suite
 * (conformance/run.go: sha512, range reads, cancel, chunk order, tag parameters, data sets).
 * See docs/conformance.md.
 *
 *   npm run conformance                                   # starts Wharf (auth on) and runs all four
 *   WHARF_E2E_TARGET=distribution npm run conformance     # the same against CNCF Distribution
 *   OCI_ROOT_URL=http://host:5000 OCI_NAMESPACE=a/b OCI_TEST_PULL=1 ... npm run conformance
 */
import { describe } from 'node:test';
import { test01Pull } from './01-pull.ts';
import { test02Push } from './02-push.ts';
import { test03ContentDiscovery } from './03-discovery.ts';
import { test04ContentManagement } from './04-management.ts';
import { testCurrent } from './current/run.ts';
import { useRegistry } from './harness.ts';
import { CONTENT_DISCOVERY, CONTENT_MANAGEMENT, PULL, PUSH, settings, suiteDescription, userDisabled } from './setup.ts';

describe(suiteDescription, () => {
  useRegistry();
  // OCI_HIDE_SKIPPED_WORKFLOWS=1: disabled workflows are left out of the report entirely.
  const shown = (flag: number): boolean => !(settings.hideSkippedWorkflows && userDisabled(flag));
  if (shown(PULL)) test01Pull();
  if (shown(PUSH)) test02Push();
  if (shown(CONTENT_DISCOVERY)) test03ContentDiscovery();
  if (shown(CONTENT_MANAGEMENT)) test04ContentManagement();
  // The current suite (conformance/run.go) pushes, so it runs with the Push workflow.
  if (!userDisabled(PUSH)) testCurrent();
});
