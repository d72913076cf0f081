// A minimal Bolt for JavaScript Socket Mode app answering /deploy status the
// way a team would typically write it: acknowledge, ask Heroku for the staging
// app's newest release, answer through the slash command's response_url. It is
// one of the subjects of Devy's benchmark (bench/); the driver starts it with
// the environment below and points it at its test Slack and test Heroku.
//
//   SLACK_APP_TOKEN, SLACK_BOT_TOKEN  tokens the test Slack accepts
//   SLACK_API_URL                     the test Slack's Web API base, ending in /api/
//   HEROKU_API_URL, HEROKU_API_TOKEN  the (slow) test Heroku
//   HEROKU_STAGING_APP                the app whose release /deploy status reads
const { App, LogLevel } = require('@slack/bolt');

const env = (name) => {
  const v = process.env[name];
  if (!v) {
    console.error(`bolt bench app: ${name} is required`);
    process.exit(2);
  }
  return v;
};

const herokuURL = env('HEROKU_API_URL').replace(/\/$/, '');
const herokuToken = env('HEROKU_API_TOKEN');
const stagingApp = env('HEROKU_STAGING_APP');

// clientOptions reaches both the App's WebClient (auth.test, chat.*) and,
// through installerOptions.clientOptions, the SocketModeClient's own
// WebClient that calls apps.connections.open (bolt 5.1.0,
// dist/App.js and dist/receivers/SocketModeReceiver.js).
const app = new App({
  token: env('SLACK_BOT_TOKEN'),
  appToken: env('SLACK_APP_TOKEN'),
  socketMode: true,
  logLevel: LogLevel.WARN,
  clientOptions: { slackApiUrl: env('SLACK_API_URL') },
});

async function stagingRelease() {
  const res = await fetch(`${herokuURL}/apps/${encodeURIComponent(stagingApp)}/releases`, {
    headers: {
      Accept: 'application/vnd.heroku+json; version=3',
      Authorization: `Bearer ${herokuToken}`,
      Range: 'version ..; max=1, order=desc',
    },
  });
  if (!res.ok) {
    throw new Error(`Heroku answered ${res.status}`);
  }
  const [release] = await res.json();
  return release;
}

app.command('/deploy', async ({ command, ack, respond }) => {
  await ack();
  if (command.text.trim() !== 'status') {
    await respond({ response_type: 'ephemeral', text: 'Try `/deploy status`.' });
    return;
  }
  try {
    const r = await stagingRelease();
    await respond({
      response_type: 'ephemeral',
      text: `Staging ${stagingApp} runs v${r.version}: ${r.description} (by ${r.user && r.user.email}).`,
    });
  } catch (err) {
    await respond({ response_type: 'ephemeral', text: `Could not read Heroku: ${err.message}` });
  }
});

// A click on a request's Reject button: nothing to look up in this app, so
// acknowledge and say so, as Devy does for a request it does not know.
app.action('deploy.reject', async ({ ack, respond }) => {
  await ack();
  await respond({ response_type: 'ephemeral', replace_original: false, text: 'That request is no longer open.' });
});

(async () => {
  await app.start();
  console.log('bolt bench app connected');
})().catch((err) => {
  console.error('bolt bench app failed:', err);
  process.exit(1);
});
