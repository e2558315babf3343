/** Helm 3.17 against a started Wharf (see helm-suite.ts). Needs .tools/helm3/helm: bash scripts/install-test-deps.sh */
import { helmSuite } from './helm-suite.ts';

helmSuite('helm3');
