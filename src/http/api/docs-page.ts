/** GET /api/v1/docs — placeholder replaced below. */
export function docsPage(): string {
  return '<!doctype html><title>Wharf API</title>';
}
