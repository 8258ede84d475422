import { createRouter, createWebHistory } from 'vue-router';
import { session } from './session';
import { deniedReason, loadPermissions } from './permissions';
import LoginView from './views/LoginView.vue';
import OverviewView from './views/OverviewView.vue';

/** The business areas, as the navigation and the overview list them. */
export const areas = [
  {
    path: '/payments',
    title: 'Payments',
    blurb: 'Payment intents, their state timelines and webhook deliveries.',
    component: () => import('./views/PaymentsView.vue'),
  },
  {
    path: '/monitors',
    title: 'Price monitors',
    blurb: 'Scheduled price checks, price history and alerts.',
    component: () => import('./views/MonitorsView.vue'),
  },
  {
    path: '/cot',
    title: 'COT data',
    blurb: 'Weekly CFTC Commitments of Traders: screener, markets and ingestion runs.',
    component: () => import('./views/CotView.vue'),
  },
  {
    path: '/diagnosis',
    title: 'Diagnosis',
    blurb: 'AI diagnosis sessions with car owners.',
    component: () => import('./views/DiagnosisView.vue'),
  },
  {
    path: '/booking',
    title: 'Booking',
    blurb: 'Workshops, mechanics, slots and appointments.',
    component: () => import('./views/BookingView.vue'),
  },
  {
    path: '/companies',
    title: 'Companies',
    blurb: 'VAT white list look-ups, bank account checks and watched companies.',
    component: () => import('./views/CompaniesView.vue'),
  },
];

export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/login', component: LoginView, meta: { public: true } },
    { path: '/signup', component: () => import('./views/SignUpView.vue'), meta: { public: true } },
    { path: '/verify-email', component: () => import('./views/VerifyEmailView.vue'), meta: { public: true } },
    { path: '/forgot-password', component: () => import('./views/ForgotPasswordView.vue'), meta: { public: true } },
    { path: '/reset-password', component: () => import('./views/ResetPasswordView.vue'), meta: { public: true } },
    { path: '/profile', component: () => import('./views/ProfileView.vue') },
    { path: '/profile/sessions', component: () => import('./views/SessionsView.vue') },
    { path: '/dev/mailbox', component: () => import('./views/MailboxView.vue') },
    { path: '/pay/:token', component: () => import('./views/PayerView.vue'), props: true, meta: { public: true } },
    { path: '/book/:workshopId', component: () => import('./views/BookView.vue'), props: true, meta: { public: true } },
    { path: '/payments/:id', component: () => import('./views/PaymentDetailView.vue'), props: true },
    { path: '/booking/appointments/:id', component: () => import('./views/AppointmentDetailView.vue'), props: true },
    { path: '/monitors/:id', component: () => import('./views/MonitorDetailView.vue'), props: true },
    { path: '/diagnosis/:id', component: () => import('./views/DiagnosisSessionView.vue'), props: true },
    { path: '/cot/:type/:subtype/:code', component: () => import('./views/CotMarketView.vue'), props: true },
    { path: '/diagnose', component: () => import('./views/DiagnoseView.vue'), meta: { public: true } },
    { path: '/', component: OverviewView },
    { path: '/merchants', component: () => import('./views/MerchantsView.vue') },
    { path: '/merchants/:id', component: () => import('./views/MerchantDetailView.vue'), props: true },
    { path: '/companies/watches/:id', component: () => import('./views/CompanyWatchView.vue'), props: true },
    ...areas.map(({ path, component }) => ({ path, component })),
    { path: '/users', component: () => import('./views/UsersView.vue') },
    { path: '/users/:id', component: () => import('./views/UserDetailView.vue'), props: true },
    { path: '/:rest(.*)', redirect: '/' },
    // Reached only by name, keeping the URL: a page of a module (or for admins) the user may not use.
    { path: '/:denied(.*)*', name: 'no-access', component: () => import('./views/NoAccessView.vue') },
  ],
});

router.beforeEach(async (to) => {
  if (to.meta.public || to.name === 'no-access') return;
  if (!session.token) return { path: '/login', query: { next: to.fullPath } };
  await loadPermissions();
  if (deniedReason(to.path))
    return { name: 'no-access', params: { denied: to.path.slice(1).split('/') }, query: to.query, hash: to.hash };
});
