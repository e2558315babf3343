/**
 * node:test reporter that writes one line, `N passed, N failed, N skipped`, counting tests
 * (not suites). scripts/test.ts prints it last so CI's final line is the summary.
 */
interface TestEventData {
  details?: { type?: string };
  skip?: unknown;
  todo?: unknown;
}

export default async function* summary(source: AsyncIterable<{ type: string; data: TestEventData }>): AsyncGenerator<string> {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    if (event.data.details?.type === 'suite') continue;
    if (event.data.skip !== undefined || event.data.todo !== undefined) skipped++;
    else if (event.type === 'test:pass') passed++;
    else failed++;
  }
  yield `${passed} passed, ${failed} failed, ${skipped} skipped\n`;
}
