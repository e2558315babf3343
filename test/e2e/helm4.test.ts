/** Helm 4.1 against a started Wharf (see helm-suite.ts). Needs .tools/helm4/helm: bash scripts/install-test-deps.sh */
import { helmSuite } from './helm-suite.ts';

helmSuite('helm4');
