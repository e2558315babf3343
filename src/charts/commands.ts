/** The Helm command lines Wharf shows for a chart version (API and UI copy buttons). */

export interface HelmCommands {
  /** `helm upgrade --install <release> oci://HOST/<repo> --version V` */
  install: string;
  /** `helm pull oci://HOST/<repo> --version V` */
  pull: string;
  /** `helm repo add <owner> <base>/charts/<owner>` (the classic repository of the owner) */
  repoAdd: string;
  /** `helm show values oci://HOST/<repo> --version V` */
  showValues: string;
  /** The `dependencies:` entry of a Chart.yaml that uses this chart (how a library chart is consumed). */
  dependency: string;
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9._/:@+=-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * `baseUrl` is how clients reach Wharf (`https://registry.example.com`); OCI references use
 * only its host. Plain-HTTP registries need `--plain-http`, which the lines then include.
 */
export function helmCommands(opts: { baseUrl: string; repo: string; owner: string; chartName: string; version: string }): HelmCommands {
  const url = new URL(opts.baseUrl);
  // The registry API lives at the root of the host (/v2/), so only the host matters here.
  const oci = `oci://${url.host}/${opts.repo}`;
  const plain = url.protocol === 'http:' ? ' --plain-http' : '';
  const version = shellQuote(opts.version);
  const base = opts.baseUrl.replace(/\/$/, '');
  return {
    install: `helm upgrade --install ${shellQuote(opts.chartName)} ${oci} --version ${version}${plain}`,
    pull: `helm pull ${oci} --version ${version}${plain}`,
    repoAdd: `helm repo add ${shellQuote(opts.owner)} ${base}/charts/${opts.owner}`,
    showValues: `helm show values ${oci} --version ${version}${plain}`,
    dependency: ['dependencies:', `  - name: ${opts.chartName}`, `    version: ${JSON.stringify(opts.version)}`, `    repository: oci://${url.host}/${opts.repo.slice(0, opts.repo.lastIndexOf('/'))}`].join('\n'),
  };
}
