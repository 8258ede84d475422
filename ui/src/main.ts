import { createApp } from 'vue';
import App from './App.vue';
import { router } from './router';
import { refreshSession } from './session';
import { loadMeta } from './temporal';
import './style.css';

// A reload keeps the operator signed in through the refresh cookie.
void Promise.all([refreshSession(), loadMeta()]).then(() => createApp(App).use(router).mount('#app'));
