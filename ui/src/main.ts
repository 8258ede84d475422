import { createApp } from 'vue';
import App from './App.vue';
import { router } from './router';
import { refreshSession } from './session';
import { loadMeta } from './temporal';
import { installUi } from './theme';
import './style.css';

// A reload keeps the operator signed in through the refresh cookie.
void Promise.all([refreshSession(), loadMeta()]).then(() => {
  const app = createApp(App);
  installUi(app);
  app.use(router).mount('#app');
});
