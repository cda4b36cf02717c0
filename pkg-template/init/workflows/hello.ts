// A sample workflow: two steps with a sleep between them. Start it with
//   curl -X POST localhost:8787/runs/hello -d '{"args": ["Ada"]}'
import { sleep } from 'workflow';

async function greet(name: string) {
  'use step';
  return `Hello, ${name}!`;
}

async function shout(text: string) {
  'use step';
  return text.toUpperCase();
}

export async function hello(name: string) {
  'use workflow';
  const greeting = await greet(name);
  await sleep('1s');
  return { greeting, shouted: await shout(greeting) };
}
