/**
 * Browser e2e helpers: Debian's Chromium driven by playwright-core (never `npx playwright
 * install`: CI installs the `chromium` package, see .ci/run), a loopback-only browser
 * context, screenshots under test-output/ (git-ignored), and a small page object for
 * Swagger UI (Authorize dialog, OAuth2 login popup, "Try it out").
 */
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page, type Request } from 'playwright-core';
import { ROOT } from './process';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Headless as root in a container: no sandbox, no GPU, nothing phoning home. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-dev-shm-usage',
];

const UI_TIMEOUT_MS = 15_000;

/** Launches Debian's Chromium headless; fails with instructions when it is not installed. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM_PATH}. The browser e2e drives Debian's Chromium through ` +
        'playwright-core: install it with `apt-get install -y chromium` (.ci/run does this in CI). ' +
        'Do not run `npx playwright install`.',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

/** http(s) to 127.0.0.1, or a URL that never reaches the network (data:, blob:, about:). */
export function isLoopbackUrl(url: string): boolean {
  const parsed = URL.parse(url);
  if (!parsed) return false;
  if (['data:', 'blob:', 'about:'].includes(parsed.protocol)) return true;
  return ['http:', 'https:'].includes(parsed.protocol) && parsed.hostname === '127.0.0.1';
}

export interface ExternalRequest {
  url: string;
  /** The URL of the frame that sent it ('' when unknown). */
  from: string;
}

export interface LoopbackContext {
  context: BrowserContext;
  /** Every request any page of this context tried to send off the loopback (all were aborted). */
  externalRequests(): ExternalRequest[];
}

function frameUrlOf(request: Request): string {
  try {
    return request.frame().url();
  } catch {
    return ''; // a service worker's request has no frame
  }
}

/**
 * A fresh context whose requests may not leave 127.0.0.1: anything else is recorded and
 * aborted, so a test never depends on (or leaks to) the internet.
 */
export async function newLoopbackContext(browser: Browser): Promise<LoopbackContext> {
  // Tall enough for the whole Authorize dialog (see SwaggerUi.open) in a screenshot.
  const context = await browser.newContext({ viewport: { width: 1280, height: 1400 } });
  context.setDefaultTimeout(UI_TIMEOUT_MS);
  const external: ExternalRequest[] = [];
  await context.route(
    (url) => !isLoopbackUrl(url.href),
    async (route) => {
      external.push({ url: route.request().url(), from: frameUrlOf(route.request()) });
      await route.abort('blockedbyclient');
    },
  );
  return { context, externalRequests: () => [...external] };
}

/** Screenshots of one suite, in test-output/<folder>/<name>.png. */
export class Screenshots {
  readonly dir: string;

  constructor(folder: string) {
    this.dir = resolve(ROOT, 'test-output', folder);
    mkdirSync(this.dir, { recursive: true });
  }

  path(name: string): string {
    return resolve(this.dir, `${name.replace(/[^A-Za-z0-9._-]+/g, '-')}.png`);
  }

  /** `style`: CSS applied only while the screenshot is taken (e.g. to hide what is not the point). */
  async take(target: Page | Locator, name: string, style?: string): Promise<string> {
    const file = this.path(name);
    await target.screenshot({ path: file, style });
    return file;
  }
}

// ---------------------------------------------------------------------------------------------
// Swagger UI
// ---------------------------------------------------------------------------------------------

export interface TryItOutResult {
  status: number;
  /** The response body as Swagger UI shows it, parsed as JSON when it is JSON. */
  body: any;
  /** The curl command Swagger UI shows for the request it sent. */
  curl: string;
}

export interface TryItOutInput {
  /** Query/path parameters by name. */
  params?: Record<string, string>;
  /** The request body text; omitted: the example Swagger UI pre-fills. */
  body?: string;
  /** Screenshot of the operation with its response, under this name. */
  screenshot?: string;
}

export interface OAuth2LoginOptions {
  username: string;
  password: string;
  /** Screenshot names (taken when given). */
  loginShot?: string;
  authorizedShot?: string;
}

export interface OAuth2Login {
  /** The authorization request Swagger UI opened in the popup. */
  authorizationUrl: URL;
  /** Whether the identity provider showed a consent page (the dev issuer never should). */
  sawConsent: boolean;
}

const DIALOG_UNROLLED =
  '.swagger-ui .dialog-ux .modal-ux { top: 10px; transform: translate(-50%, 0); }' +
  ' .swagger-ui .dialog-ux .modal-ux-content { max-height: none; }';

/** In a screenshot of an operation that was tried out: its documented answers left out (they are long). */
const LIVE_RESPONSE_ONLY = '.swagger-ui table.responses-table[id$="_responses"] { display: none !important; }';

/** A scheme's "Authorize" button (once authorized, the same button says "Logout"). */
const authorizeButton = (section: Locator): Locator => section.locator('button.authorize', { hasText: /^Authorize$/ });

/** Swagger UI's page object: the Authorize dialog, the OAuth2 login popup and "Try it out". */
export class SwaggerUi {
  private constructor(
    readonly page: Page,
    private readonly shots: Screenshots,
  ) {}

  /** Opens `docsUrl` in a new page of `context` and waits until the operations are rendered. */
  static async open(context: BrowserContext, docsUrl: string, shots: Screenshots): Promise<SwaggerUi> {
    const page = await context.newPage();
    await page.goto(docsUrl);
    await page.locator('.opblock').first().waitFor();
    // The dialog scrolls its content after 540 px; unrolled, a screenshot shows all three schemes.
    await page.addStyleTag({ content: DIALOG_UNROLLED });
    return new SwaggerUi(page, shots);
  }

  get dialog(): Locator {
    return this.page.locator('.modal-ux');
  }

  /** The Authorize dialog's section of one security scheme (APIKeyAuth, BearerAuth, OAuth2). */
  scheme(name: string): Locator {
    return this.dialog.locator('.auth-container').filter({ has: this.page.locator('h4', { hasText: name }) });
  }

  async openAuthorizeDialog(): Promise<Locator> {
    await this.page.locator('.auth-wrapper button.authorize').click();
    await this.dialog.waitFor();
    return this.dialog;
  }

  async closeAuthorizeDialog(): Promise<void> {
    await this.dialog.locator('button.close-modal').click();
    await this.dialog.waitFor({ state: 'detached' });
  }

  /** Whether a scheme shows as authorized (its section offers "Logout"). */
  async isAuthorized(name: string): Promise<boolean> {
    return this.scheme(name).locator('button', { hasText: 'Logout' }).isVisible();
  }

  /** Types `value` into an apiKey or http scheme's field and applies it (dialog open). */
  async authorizeWithValue(name: string, value: string): Promise<void> {
    const section = this.scheme(name);
    await section.locator('input[type="text"]').fill(value);
    await authorizeButton(section).click();
    await section.locator('button', { hasText: 'Logout' }).waitFor();
  }

  /** Logs a scheme out (dialog open). */
  async logout(name: string): Promise<void> {
    const section = this.scheme(name);
    await section.locator('button', { hasText: 'Logout' }).click();
    await authorizeButton(section).waitFor();
  }

  /**
   * OAuth2 (dialog open): "Authorize" opens the identity provider's login page in a popup;
   * the login form is filled and submitted (and a consent page, if one appears, accepted);
   * the popup returns to /docs/oauth2-redirect.html, which hands the code back to Swagger UI,
   * which exchanges it (PKCE) at the token endpoint.
   */
  async loginWithOAuth2(opts: OAuth2LoginOptions): Promise<OAuth2Login> {
    const context = this.page.context();
    const section = this.scheme('OAuth2');
    let authorizationUrl: URL | undefined;
    const onRequest = (request: Request): void => {
      const url = new URL(request.url());
      if (!authorizationUrl && url.searchParams.has('code_challenge')) authorizationUrl = url;
    };
    context.on('request', onRequest);
    try {
      const [popup] = await Promise.all([context.waitForEvent('page'), authorizeButton(section).click()]);
      await popup.locator('input[name="login"]').waitFor();
      if (opts.loginShot) await this.shots.take(popup, opts.loginShot);
      await popup.locator('input[name="login"]').fill(opts.username);
      await popup.locator('input[name="password"]').fill(opts.password);
      const closed = popup.waitForEvent('close', { timeout: UI_TIMEOUT_MS }).then(() => 'closed' as const);
      await popup.locator('button[type="submit"]').click();
      let sawConsent = false;
      const consent = popup
        .locator('input[name="prompt"][value="consent"]')
        .waitFor({ state: 'attached', timeout: UI_TIMEOUT_MS })
        .then(
          () => 'consent' as const,
          () => 'closed' as const,
        );
      if ((await Promise.race([closed, consent])) === 'consent') {
        sawConsent = true;
        await popup.locator('button[type="submit"]').click();
      }
      await closed;
      await section.locator('button', { hasText: 'Logout' }).waitFor();
      if (opts.authorizedShot) await this.shots.take(this.dialog, opts.authorizedShot);
      if (!authorizationUrl) throw new Error('Swagger UI sent no authorization request with a PKCE code_challenge');
      return { authorizationUrl, sawConsent };
    } finally {
      context.off('request', onRequest);
    }
  }

  operation(tag: string, operationId: string): Locator {
    return this.page.locator(`#operations-${tag}-${operationId}`);
  }

  /** Expands an operation and switches it to "Try it out" (idempotent). */
  async startTryingOut(tag: string, operationId: string): Promise<Locator> {
    const op = this.operation(tag, operationId);
    if (!((await op.getAttribute('class')) ?? '').split(/\s+/).includes('is-open')) await op.locator('.opblock-summary').click();
    const tryOut = op.locator('button.try-out__btn');
    if ((await tryOut.innerText()).trim() === 'Try it out') await tryOut.click();
    await op.locator('button.execute').waitFor();
    return op;
  }

  /** "Try it out" → fill → Execute, and read the live response Swagger UI shows. */
  async tryItOut(tag: string, operationId: string, input: TryItOutInput = {}): Promise<TryItOutResult> {
    const op = await this.startTryingOut(tag, operationId);
    for (const [name, value] of Object.entries(input.params ?? {})) {
      await op.locator(`tr[data-param-name="${name}"] input`).fill(value);
    }
    if (input.body !== undefined) await op.locator('textarea.body-param__text').fill(input.body);
    const clear = op.locator('button.btn-clear');
    if (await clear.isVisible()) await clear.click();
    await op.locator('.live-responses-table').waitFor({ state: 'detached' });
    await op.locator('button.execute').click();
    const responses = op.locator('.responses-wrapper');
    const live = op.locator('.live-responses-table .response').first();
    try {
      await live.waitFor();
    } catch (error) {
      throw new Error(`${operationId}: no response shown in Swagger UI: ${await responses.innerText().catch(() => '?')}`, { cause: error });
    }
    const statusText = (await live.locator('.response-col_status').innerText()).trim();
    const bodyText = (await live.locator('.response-col_description .highlight-code code').first().textContent()) ?? '';
    const curl = (await op.locator('.curl-command code').textContent()) ?? '';
    if (input.screenshot) await this.shots.take(op, input.screenshot, LIVE_RESPONSE_ONLY);
    const status = Number(statusText);
    if (!Number.isInteger(status)) throw new Error(`${operationId}: Swagger UI shows no HTTP status: "${statusText}" ${bodyText}`);
    let body: unknown = bodyText;
    try {
      body = JSON.parse(bodyText);
    } catch {
      // not JSON: the text as shown
    }
    return { status, body, curl };
  }
}
