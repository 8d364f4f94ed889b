// One-time messages carried across a navigation ("Dataset submitted").

const KEY = "ionscape.flash";

export const flash = {
  set: (message) => sessionStorage.setItem(KEY, message),
  take() {
    const message = sessionStorage.getItem(KEY);
    sessionStorage.removeItem(KEY);
    return message;
  },
};
