// Lighthouse on several pages in one Node process and one Chromium: start-up is paid
// once, not once per page (the CLI would start both for every page and preset).
//
// Reads a job from standard input:
//   {"chromePath": "...", "categories": [...], "runs": [
//     {"name": "home", "url": "http://...", "preset": "mobile" | "desktop",
//      "headers": {"Cookie": "..."}, "blocked": ["https://elsewhere.example/*"]}, ...]}
// and writes one JSON document to standard output: for each run its category scores,
// every audit of those categories that did not pass, and how long the run took.
import {launch} from 'chrome-launcher';
import lighthouse, {desktopConfig} from 'lighthouse';
import puppeteer from 'puppeteer-core';

const job = JSON.parse(await readStandardInput());

// --no-sandbox: as Playwright launches it (CI runs as root, where the sandbox refuses).
const chrome = await launch({
  chromePath: job.chromePath,
  chromeFlags: ['--headless=new', '--no-sandbox', '--disable-gpu'],
  logLevel: 'silent',
});
// Lighthouse keeps cookies between runs on purpose (for sign-in flows): the session
// cookie one page set (sign-in's form) would be sent with the next page and win over a
// Cookie header of ours. Each audit starts with none, as a new visitor.
const connection = await puppeteer.connect({browserURL: `http://127.0.0.1:${chrome.port}`});
const cdp = await connection.target().createCDPSession();
const results = [];
try {
  // A first audit in a fresh Chromium runs its scripts cold and scores performance
  // low at random (total blocking time); one untimed run on the first page warms it.
  if (job.runs.length) {
    await lighthouse(job.runs[0].url, {
      port: chrome.port, logLevel: 'error', onlyCategories: ['performance'],
      extraHeaders: job.runs[0].headers || undefined,
      blockedUrlPatterns: job.runs[0].blocked || [],
    });
  }
  for (const run of job.runs) {
    await cdp.send('Storage.clearCookies');
    const started = performance.now();
    const flags = {
      port: chrome.port,
      output: 'json',
      logLevel: 'error',
      onlyCategories: job.categories,
      extraHeaders: run.headers || undefined,
      blockedUrlPatterns: run.blocked || [],
      // What no score counts and costs seconds a page: the back/forward cache check
      // (it leaves the page and comes back) and the screenshots of the report.
      skipAudits: ['bf-cache', 'screenshot-thumbnails', 'final-screenshot'],
      disableFullPageScreenshot: true,
    };
    const config = run.preset === 'desktop' ? desktopConfig : undefined;
    const {lhr} = await lighthouse(run.url, flags, config);
    results.push({
      name: run.name,
      preset: run.preset,
      url: run.url,
      lighthouseVersion: lhr.lighthouseVersion,
      finalUrl: lhr.finalDisplayedUrl,
      seconds: (performance.now() - started) / 1000,
      runtimeError: lhr.runtimeError ? lhr.runtimeError.message : null,
      scores: Object.fromEntries(
        Object.entries(lhr.categories).map(([id, category]) => [id, category.score])),
      failing: failingAudits(lhr),
    });
  }
} finally {
  await connection.disconnect();
  await chrome.kill();
}
process.stdout.write(JSON.stringify({results}));

// The audits, in the categories asked for, that count towards a score and did not get
// full marks (metrics included), with a few of the items each one names.
function failingAudits(lhr) {
  const failing = [];
  for (const [categoryId, category] of Object.entries(lhr.categories)) {
    for (const ref of category.auditRefs) {
      const audit = lhr.audits[ref.id];
      if (audit.score === null || audit.score >= 1) continue;
      if (!['binary', 'numeric', 'metricSavings'].includes(audit.scoreDisplayMode)) continue;
      const items = Array.isArray(audit.details && audit.details.items) ? audit.details.items : [];
      failing.push({
        category: categoryId,
        id: ref.id,
        weight: ref.weight,
        score: audit.score,
        title: audit.title,
        displayValue: audit.displayValue || '',
        explanation: audit.explanation || '',
        items: items.slice(0, 5).map(describe),
      });
    }
  }
  return failing;
}

function describe(item) {
  if (item.node) return item.node.snippet || item.node.selector || '';
  if (item.url) return item.url;
  if (item.source && item.source.url) return `${item.description || ''} ${item.source.url}`;
  return JSON.stringify(item).slice(0, 200);
}

async function readStandardInput() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}
