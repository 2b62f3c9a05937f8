// Compiled (never run) by the tsc test: the client's declared types fit the
// generated ones.
import { createClient, type CaptureSummary } from '../src/index.js';

async function example(): Promise<void> {
  const client = createClient({ baseUrl: 'http://127.0.0.1:8080' });
  const path = await client.createPath({ path_id: 'demo' });
  const id: string = path.path_id;
  const page = await client.listLogs(id, { limit: 10, method: 'POST' });
  const first: CaptureSummary | undefined = page.items[0];
  const curl: string = await client.copyAs(id, first?.id ?? '', 'curl');
  await client.follow(id, { onEvent: (s: CaptureSummary, eventId: string) => void [s.method, eventId, curl] });
}
void example;
