/**
 * The README is for newcomers: at most 10 KB, and every link into the repository (docs/,
 * examples/) leads somewhere. Depth lives in docs/, each page reachable from the README.
 */
import test from 'ava';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../helpers/s6.js';

const README = path.join(repoRoot(), 'README.md');

/** Relative link targets of a Markdown text, without their #fragment. */
function localLinks(markdown: string): string[] {
  return [...markdown.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1] ?? '')
    .filter((href) => !/^[a-z]+:/i.test(href) && !href.startsWith('#'))
    .map((href) => href.split('#')[0] ?? '');
}

test('the README is at most 10 KB', (t) => {
  const size = statSync(README).size;
  t.true(size <= 10 * 1024, `README.md is ${size} bytes`);
});

test('every local link in the README resolves', (t) => {
  const links = localLinks(readFileSync(README, 'utf8'));
  t.true(
    links.some((l) => l.startsWith('docs/')),
    'the README links into docs/',
  );
  for (const link of links) t.true(existsSync(path.join(repoRoot(), link)), `${link} exists`);
});

test('every page in docs/ is linked from the README', (t) => {
  const links = new Set(localLinks(readFileSync(README, 'utf8')));
  const pages = readdirSync(path.join(repoRoot(), 'docs')).filter((f) => f.endsWith('.md'));
  t.true(pages.length > 0);
  for (const page of pages) t.true(links.has(`docs/${page}`), `docs/${page} is linked`);
});

test('every local link inside docs/ resolves', (t) => {
  const dir = path.join(repoRoot(), 'docs');
  for (const page of readdirSync(dir).filter((f) => f.endsWith('.md'))) {
    for (const link of localLinks(readFileSync(path.join(dir, page), 'utf8'))) {
      t.true(existsSync(path.join(dir, link)), `docs/${page} → ${link}`);
    }
  }
});
